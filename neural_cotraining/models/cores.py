"""A VGG-style convolutional core that can stop at, and return, any of its intermediate layers.

The multi-task network of Safarani et al. 2021 ("Towards robust vision by multi-task learning on monkey visual
cortex", NeurIPS) shares a VGG core between tasks: the neural readouts read an *intermediate* layer while image
classification uses the full network. :class:`VGGCore` therefore names every stage ("block1.conv0", "block1.pool",
...) and ``core(x, layer=name)`` runs only up to that stage, so a readout never depends on later weights.
Architecture after Simonyan & Zisserman 2015 ("Very deep convolutional networks for large-scale image recognition"):
blocks of same-padded k x k convolutions (optionally batch-normalised) followed by a 2x2 pooling.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

logger = logging.getLogger(__name__)

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU}
POOLINGS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}

LayerRef = int | str | None


class ConvUnit(nn.Module):
    """conv -> (batch-norm) -> activation -> (dropout): one VGG convolution."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        batch_norm: bool,
        activation: str,
        dropout: float,
    ) -> None:
        super().__init__()
        # the conv bias is redundant in front of a batch-norm shift
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
        self.norm = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.norm(self.conv(x))))


class VGGCore(nn.Module):
    """Stacked VGG blocks; ``forward(x, layer=None)`` returns the final features or those of a named layer.

    Args:
        input_channels: channels of the input images (inferred from the data by the builders).
        block_channels: output channels of each block; its length is the number of blocks.
        convs_per_block: convolutions in each block (one int for all blocks, or one per block).
        kernel_size: odd kernel size of every convolution ("same" padding keeps the spatial size).
        batch_norm: batch-normalise after every convolution.
        dropout: channel dropout (``Dropout2d``) after every convolution.
        pooling: "max", "avg" or None (no down-sampling) at the end of each block.
        activation: "relu", "elu" or "gelu".

    Layer names, in order: ``block{i}.conv{j}`` for every convolution and ``block{i}.pool`` for each pooling (present
    only when ``pooling`` is set); ``block{i}`` (or the int ``i``) means the output of block ``i``.
    """

    def __init__(
        self,
        input_channels: int,
        block_channels: Sequence[int] = (32, 64, 128),
        convs_per_block: int | Sequence[int] = 2,
        kernel_size: int = 3,
        batch_norm: bool = True,
        dropout: float = 0.0,
        pooling: str | None = "max",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        block_channels = list(block_channels)
        convs = [convs_per_block] * len(block_channels) if isinstance(convs_per_block, int) else list(convs_per_block)
        self._validate(input_channels, block_channels, convs, kernel_size, dropout, pooling, activation)

        self.input_channels = int(input_channels)
        self.block_channels = block_channels
        self.stages = nn.ModuleDict()  # insertion-ordered: iteration order is the forward order
        in_channels = self.input_channels
        for b, (out_channels, n_convs) in enumerate(zip(block_channels, convs)):
            for c in range(n_convs):
                unit = ConvUnit(in_channels, out_channels, kernel_size, batch_norm, activation, dropout)
                # ModuleDict keys may not contain dots; the public name uses one
                self.stages[f"block{b}_conv{c}"] = unit
                in_channels = out_channels
            if pooling is not None:
                self.stages[f"block{b}_pool"] = POOLINGS[pooling](kernel_size=2, stride=2)
        self.layer_names = [key.replace("_", ".") for key in self.stages]
        self._block_ends = {f"block{b}": self._last_stage_of_block(b) for b in range(len(block_channels))}
        self._init_weights()

    @staticmethod
    def _validate(input_channels, block_channels, convs, kernel_size, dropout, pooling, activation) -> None:
        if int(input_channels) < 1:
            raise ValueError(f"input_channels must be >= 1, got {input_channels}")
        if not block_channels or any(int(c) < 1 for c in block_channels):
            raise ValueError(f"block_channels must be a non-empty list of positive ints, got {block_channels}")
        if len(convs) != len(block_channels) or any(int(n) < 1 for n in convs):
            raise ValueError(
                f"convs_per_block must be a positive int or one positive int per block "
                f"({len(block_channels)} blocks), got {convs}"
            )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int (same padding), got {kernel_size}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if pooling is not None and pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {sorted(POOLINGS)} or None, got {pooling!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")

    def _last_stage_of_block(self, block: int) -> str:
        return [name for name in self.layer_names if name.startswith(f"block{block}.")][-1]

    def _init_weights(self) -> None:
        # He initialisation, as for VGG with ReLUs (He et al. 2015)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def resolve_layer(self, layer: LayerRef) -> str:
        """The canonical stage name for ``layer`` (None = last stage, int i = end of block i, or a stage name)."""
        if layer is None:
            return self.layer_names[-1]
        if isinstance(layer, bool) or not isinstance(layer, (int, str)):
            raise TypeError(f"layer must be None, a block index or a layer name, got {layer!r}")
        if isinstance(layer, int):
            n_blocks = len(self.block_channels)
            index = layer + n_blocks if layer < 0 else layer
            if not 0 <= index < n_blocks:
                raise ValueError(f"block index {layer} out of range for a core with {n_blocks} blocks")
            return self._block_ends[f"block{index}"]
        if layer in self._block_ends:
            return self._block_ends[layer]
        if layer in self.layer_names:
            return layer
        raise ValueError(
            f"unknown core layer {layer!r}; known layers: {sorted(self._block_ends)} and {self.layer_names}"
        )

    def forward(self, x: torch.Tensor, layer: LayerRef = None) -> torch.Tensor:
        """Features of ``layer`` (default: the last stage); stages after it are not computed."""
        if x.ndim != 4 or x.shape[1] != self.input_channels:
            raise ValueError(
                f"core expects input of shape (N, {self.input_channels}, H, W), got {tuple(x.shape)}"
            )
        target = self.resolve_layer(layer)
        for name, stage in zip(self.layer_names, self.stages.values()):
            x = stage(x)
            if name == target:
                break
        return x

    def output_shape(self, input_shape: Sequence[int], layer: LayerRef = None) -> tuple[int, int, int]:
        """(C, H, W) of ``layer``'s features for an input of shape (C, H, W); raises if the map vanishes."""
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
        target = self.resolve_layer(layer)
        modes = [(module, module.training) for module in self.modules()]
        self.eval()  # a probe must not update batch-norm running statistics
        try:
            with torch.no_grad():
                probe = torch.zeros(1, *(int(s) for s in input_shape), device=self._device())
                shape = tuple(self(probe, layer=target).shape[1:])
        except RuntimeError as error:
            raise ValueError(
                f"input of shape {tuple(input_shape)} is too small for the core up to layer {target!r}: {error}"
            ) from error
        finally:
            for module, training in modes:
                module.training = training
        if min(shape[1:]) < 1:
            raise ValueError(f"input of shape {tuple(input_shape)} leaves no spatial extent at layer {target!r}")
        return shape  # type: ignore[return-value]

    def _device(self) -> torch.device:
        return next(self.parameters()).device
