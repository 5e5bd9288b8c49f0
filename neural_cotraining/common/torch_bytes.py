"""The one torch serialiser for bytes stored in the database (model weights, training checkpoints).

Reading uses ``weights_only=True``: stored bytes are untrusted, and that refuses pickled code (only tensors and
plain containers load).
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["to_torch_bytes", "from_torch_bytes"]


def to_torch_bytes(value: Any) -> bytes:
    """``torch.save`` of ``value`` into bytes."""
    import torch  # here, not at the top: common is imported by layers that may never touch torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def from_torch_bytes(data: bytes) -> Any:
    """What :func:`to_torch_bytes` wrote, on the CPU, tensors and plain containers only."""
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
