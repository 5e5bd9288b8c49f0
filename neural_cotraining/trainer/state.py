"""Training-state helpers: keep checkpoints loadable with ``torch.load(weights_only=True)``.

A checkpoint may hold only tensors, dicts (str/int keys), lists, tuples, ints, floats, strings, bools and None.
``to_plain`` copies a structure into exactly that (tensors cloned to CPU, dict subclasses such as ``Counter`` made
plain dicts, numpy scalars made Python numbers, numpy arrays tensors) and names the path of anything else.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..common.plain import from_numpy

__all__ = ["to_plain", "cpu_state_dict", "capture_rng_states", "restore_rng_states"]


def to_plain(value, path: str = "state"):
    """A deep copy of ``value`` using only types ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, np.ndarray):  # tolerated on input (e.g. a state that went through another store)
        return torch.from_numpy(value.copy())
    value = from_numpy(value)  # numpy scalars, np.float64 and np.str_ included (float and str subclasses)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            key = from_numpy(key)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"{path} has a key {key!r} of type {type(key).__name__}; only str/int keys are stored")
            plain[key] = to_plain(item, f"{path}[{key!r}]")
        return plain
    if isinstance(value, list):
        return [to_plain(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, tuple):
        return tuple(to_plain(item, f"{path}[{index}]") for index, item in enumerate(value))
    raise TypeError(f"{path} holds a {type(value).__name__}, which a weights_only checkpoint cannot store")


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``module.state_dict()`` (unaffected by further training)."""
    return {key: value.detach().to("cpu", copy=True) for key, value in module.state_dict().items()}


def capture_rng_states(cycler_generator: torch.Generator, named_loaders) -> dict:
    """Global torch (and CUDA) generator states, the cycler's and every loader's own generator state."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "cycler": cycler_generator.get_state(),
        "loaders": {
            name: loader.generator.get_state()
            for name, loader in named_loaders
            if isinstance(getattr(loader, "generator", None), torch.Generator)
        },
    }


def restore_rng_states(states: Mapping, cycler_generator: torch.Generator, named_loaders) -> None:
    """Undo ``capture_rng_states`` (loaders and CUDA devices missing on either side are skipped)."""
    torch.set_rng_state(states["torch"])
    if torch.cuda.is_available() and states.get("cuda"):
        if len(states["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states["cuda"])
    cycler_generator.set_state(states["cycler"])
    loader_states = states.get("loaders", {})
    for name, loader in named_loaders:
        generator = getattr(loader, "generator", None)
        if isinstance(generator, torch.Generator) and name in loader_states:
            generator.set_state(loader_states[name])
