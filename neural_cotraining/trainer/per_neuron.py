"""Per-neuron results of a neural task's session, keyed by the recording's unit ids.

Neuroscientists select neurons by unit id (and area / layer), so the final test figures of every neuron are kept
next to its id: the single-trial test correlation, and where the test images repeat the leave-one-out oracle and
the fraction of oracle, correlation / oracle per neuron (the per-neuron form of the "fraction of oracle" of Walker
et al. 2019 and Lurz et al. 2021). The ids, areas, layers and oracle are read from the loader's dataset
(``unit_ids``, ``area``, ``layer``, ``oracle``); a dataset without ``unit_ids`` gets the column index.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["neuron_results"]


def _one_per_neuron(values: Any, n: int, name: str, data_key: Any) -> list:
    """``values`` (a numpy array, a tensor or a sequence: a lab's dataset may hold any) as a list of ``n``; the
    callers make each entry an int, float or str."""
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    if len(values) != n:
        raise ValueError(f"session {data_key!r}: the dataset's {name} has {len(values)} entries for {n} neurons")
    return values


def _fraction(correlation: float, oracle: float) -> float:
    return correlation / oracle if math.isfinite(oracle) and oracle > 0 else float("nan")


def neuron_results(correlations: torch.Tensor, loader: Any, data_key: Any) -> dict[str, list]:
    """``{"unit_ids", "correlation"[, "oracle", "fraction_oracle"][, "area"][, "layer"]}``, one entry per neuron
    in response-column order (plain Python lists)."""
    dataset = getattr(loader, "dataset", None)
    n = int(correlations.numel())
    unit_ids = getattr(dataset, "unit_ids", None)
    result = {
        "unit_ids": [int(u) for u in _one_per_neuron(unit_ids, n, "unit_ids", data_key)] if unit_ids is not None
        else list(range(n)),
        "correlation": [float(c) for c in correlations.tolist()],
    }
    oracle = getattr(dataset, "oracle", None)
    if oracle is not None:
        result["oracle"] = [float(o) for o in _one_per_neuron(oracle, n, "oracle", data_key)]
        result["fraction_oracle"] = [_fraction(c, o) for c, o in zip(result["correlation"], result["oracle"])]
    for name in ("area", "layer"):
        values = getattr(dataset, name, None)
        if values is not None:
            result[name] = [str(v) for v in _one_per_neuron(values, n, name, data_key)]
    return result
