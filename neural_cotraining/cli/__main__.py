"""``python -m neural_cotraining.cli``: the ``neural-cotraining`` command."""

import sys

from .main import main

sys.exit(main())
