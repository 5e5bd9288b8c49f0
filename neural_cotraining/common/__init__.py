"""Leaf helpers any layer may import (it imports nothing of the package)."""
