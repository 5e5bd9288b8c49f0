"""Per-session neural readouts: core feature map -> positive firing rates (N, n_neurons).

Two readout kinds, chosen by name with :func:`build_readout`:

* ``"gaussian"``: neuralpredictors' ``FullGaussian2d`` (Lurz et al. 2021, "Generalization in data-driven models of
  primary visual cortex", ICLR): each neuron reads the feature vector at one learned position, sampled from a
  learned Gaussian during training; the feature weights carry an L1 penalty.
* ``"factorized"``: our own spatial-mask x feature-vector readout (Klindt et al. 2017, "Neural system
  identification for large populations separating 'what' and 'where'", NeurIPS), kept so the package works if
  neuralpredictors' API changes.

:class:`SessionReadouts` keeps one readout per recording session (data_key) and applies the ``elu(x + offset) + 1``
output nonlinearity used for Poisson-like responses in the Safarani et al. 2021 multi-task network.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .naming import module_names

logger = logging.getLogger(__name__)

# The options each readout kind accepts (JSON-able values only), with their defaults.
GAUSSIAN_OPTIONS: dict[str, Any] = {
    "bias": True,
    "init_mu_range": 0.3,
    "init_sigma": 0.1,
    "gauss_type": "full",
    "batch_sample": True,
    "align_corners": True,
    "feature_reg_weight": 0.01,
}
FACTORIZED_OPTIONS: dict[str, Any] = {
    "bias": True,
    "init_noise": 1e-3,
    "feature_reg_weight": 0.01,
    "spatial_reg_weight": 0.01,
}
READOUT_OPTIONS = {"gaussian": GAUSSIAN_OPTIONS, "factorized": FACTORIZED_OPTIONS}


def elu_plus_one(x: torch.Tensor) -> torch.Tensor:
    """elu(x) + 1, computed as x + 1 above 0 and exp(x) below, so it stays > 0 where float32 ``elu(x) + 1`` is 0
    (down to x of about -87 in float32, where exp underflows).

    The naive form rounds exp(x) - 1 to -1 for x < -17 and returns exactly 0, which makes a Poisson
    log-likelihood infinite; exp is clamped at 0 so the unused branch cannot overflow into a NaN gradient.
    """
    return torch.where(x > 0, x + 1, torch.exp(x.clamp(max=0)))


def inverse_elu_plus_one(rates: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    """The pre-activation b with elu(b) + 1 == rate: rate - 1 above 1, log(rate) below (rates floored at ``floor``)."""
    rates = rates.clamp(min=floor)
    return torch.where(rates >= 1, rates - 1, torch.log(rates))


class FactorizedReadout(nn.Module):
    """Linear readout whose weights factorise into a spatial mask (H x W) and a feature vector (C) per neuron.

    ``regularizer()`` is ``feature_reg_weight * |features|_1 + spatial_reg_weight * |spatial|_1``.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        outdims: int,
        bias: bool = True,
        init_noise: float = 1e-3,
        feature_reg_weight: float = 0.01,
        spatial_reg_weight: float = 0.01,
        mean_activity: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        channels, height, width = (int(s) for s in in_shape)
        self.in_shape = (channels, height, width)
        self.outdims = int(outdims)
        self.feature_reg_weight = float(feature_reg_weight)
        self.spatial_reg_weight = float(spatial_reg_weight)
        # start as a spatial average with random feature weights: a product of two near-zero factors would give
        # near-zero gradients to both
        self.spatial = nn.Parameter(torch.full((self.outdims, height, width), 1.0 / (height * width)))
        self.spatial.data.add_(init_noise * torch.randn_like(self.spatial))
        self.features = nn.Parameter(torch.randn(self.outdims, channels) / channels**0.5)
        if bias:
            initial = torch.zeros(self.outdims) if mean_activity is None else mean_activity.detach().clone()
            self.bias = nn.Parameter(initial.float())
        else:
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"factorized readout expects features of shape (N, {self.in_shape}), got {tuple(x.shape)}")
        pooled = torch.einsum("nchw,khw->nkc", x, self.spatial)  # (N, neurons, C)
        out = (pooled * self.features).sum(-1)
        return out if self.bias is None else out + self.bias

    def regularizer(self, reduction: str = "sum") -> torch.Tensor:
        reduce = torch.sum if reduction == "sum" else torch.mean
        return self.feature_reg_weight * reduce(self.features.abs()) + self.spatial_reg_weight * reduce(
            self.spatial.abs()
        )


def build_readout(
    kind: str,
    in_shape: Sequence[int],
    n_neurons: int,
    mean_activity: torch.Tensor | None = None,
    elu_offset: float = 0.0,
    **options: Any,
) -> nn.Module:
    """One readout of ``kind`` ("gaussian" or "factorized") from feature shape (C, H, W) to ``n_neurons``.

    ``mean_activity`` (n_neurons,) is the target mean *rate*; the bias starts at its inverse under
    ``elu(. + elu_offset) + 1`` so the initial predictions match it. ``options`` are checked against the kind's
    accepted keys (READOUT_OPTIONS).
    """
    if kind not in READOUT_OPTIONS:
        raise ValueError(f"unknown readout_type {kind!r}; known: {sorted(READOUT_OPTIONS)}")
    accepted = READOUT_OPTIONS[kind]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown readout_config keys {unknown} for readout_type {kind!r}; accepted: {sorted(accepted)}"
        )
    settings = {**accepted, **options}
    bias = None
    if mean_activity is not None:
        if tuple(mean_activity.shape) != (int(n_neurons),):
            raise ValueError(f"mean_activity must have shape ({n_neurons},), got {tuple(mean_activity.shape)}")
        bias = inverse_elu_plus_one(mean_activity.detach().float()) - float(elu_offset)
    if kind == "factorized":
        return FactorizedReadout(in_shape, n_neurons, mean_activity=bias, **settings)
    from neuralpredictors.layers.readouts import FullGaussian2d  # imported late: only this kind needs it

    # FullGaussian2d warns when no mean activity is given and initialises the bias with 0 then; say so explicitly
    initial_bias = torch.zeros(int(n_neurons)) if bias is None else bias
    return FullGaussian2d(
        in_shape=tuple(int(s) for s in in_shape), outdims=int(n_neurons), mean_activity=initial_bias, **settings
    )


class SessionReadouts(nn.Module):
    """One readout per data_key; ``forward(features, data_key)`` returns ``elu(readout(features) + offset) + 1``.

    Args:
        readouts: data_key -> readout module (``readout(features) -> (N, n_neurons)`` with ``regularizer()``).
        elu_offset: constant added before the elu (shifts the operating point of the nonlinearity).
        learn_offset: learn one offset per neuron (initialised at ``elu_offset``) instead of the constant.
    """

    def __init__(self, readouts: Mapping[str, nn.Module], elu_offset: float = 0.0, learn_offset: bool = False) -> None:
        super().__init__()
        if not readouts:
            raise ValueError("SessionReadouts needs at least one data_key")
        # ModuleDict names may not contain "."; data_keys (e.g. "gaussian_noise_0.1") may
        self._names = module_names(readouts, "data_keys")
        self.readouts = nn.ModuleDict({self._names[str(key)]: module for key, module in readouts.items()})
        self.elu_offset = float(elu_offset)
        self.offsets = nn.ParameterDict()
        if learn_offset:
            for key, module in readouts.items():
                self.offsets[self._names[str(key)]] = nn.Parameter(torch.full((int(module.outdims),), self.elu_offset))

    @property
    def data_keys(self) -> list[str]:
        return list(self._names)

    @property
    def n_neurons(self) -> dict[str, int]:
        return {key: int(self.readouts[name].outdims) for key, name in self._names.items()}

    def _name(self, data_key: str | None) -> str:
        if data_key is None:
            if len(self._names) == 1:
                return next(iter(self._names.values()))
            raise ValueError(f"data_key is required for a neural task with several sessions: {self.data_keys}")
        if data_key not in self._names:
            raise ValueError(f"unknown data_key {data_key!r}; known data_keys: {self.data_keys}")
        return self._names[data_key]

    def forward(self, features: torch.Tensor, data_key: str | None = None) -> torch.Tensor:
        name = self._name(data_key)
        out = self.readouts[name](features)
        offset = self.offsets[name] if name in self.offsets else self.elu_offset
        return elu_plus_one(out + offset)

    def regularizer(self, data_key: str | None = None) -> torch.Tensor:
        """The readout's own penalty (feature L1 times its weight) for ``data_key``."""
        penalty = self.readouts[self._name(data_key)].regularizer(reduction="sum")
        return torch.as_tensor(penalty, dtype=torch.float32)
