"""The layer registry: JSON-able layer specs ``{"type": name, **kwargs}`` -> ``nn.Module``.

A node's ``layers`` is an ``nn.Module`` (Python use), a spec dict such as ``{"type": "linear", "in_features": 8,
"out_features": 4}``, or a list of those (shorthand for ``{"type": "sequential", "layers": [...]}``). Built-in types:

=================  ==========================================================================================
type               arguments (besides "type")
=================  ==========================================================================================
identity           none
linear             in_features, out_features, bias=True
mlp                sizes=[in, hidden..., out], activation="relu", dropout=0, batch_norm=False, activate_last=False
sequential         layers=[spec, ...]  (the first layer receives all anchors)
concat             dim=1               (concatenates several anchors)
select             index, dim=None     (one anchor, or part of one tensor)
flatten            start_dim=1
dropout            p=0.5
relu, elu, ...     none                (every name in ``modules.ACTIVATIONS``)
conv2d             in_channels, out_channels, kernel_size, stride=1, padding=0
vgg_core           input_channels, and the keywords of ``models.cores.VGGCore``
global_avg_pool    none                ((N, C, H, W) -> (N, C))
binary_head        in_features, hidden_features=None, dropout=0, activation="relu", squeeze_output=True
multiclass_head    in_features, n_classes, hidden_features=None, dropout=0, activation="relu"
regression_head    in_features, n_outputs=1, hidden_features=None, dropout=0, activation="relu",
                   squeeze_output=False
=================  ==========================================================================================

Users add their own with :func:`register_layer` (a factory taking keyword arguments and returning a module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import nn

from ...common.name_registry import Registry
from ..cores import VGGCore
from .heads import binary_head, multiclass_head, regression_head
from .modules import ACTIVATIONS, MLP, Concat, GraphSequential, Select

__all__ = [
    "LAYER_TYPES",
    "build_layer",
    "check_layer_spec",
    "describe_layer",
    "register_layer",
    "registered_layers",
    "unregister_layer",
]

LayerFactory = Callable[..., nn.Module]
LAYER_TYPES: Registry = Registry("layer type")


def register_layer(name: str, factory: LayerFactory | None = None, *, replace: bool = False) -> Any:
    """Register ``factory(**kwargs) -> nn.Module`` under ``name``; also usable as ``@register_layer("name")``.

    Registering a taken name raises ValueError unless ``replace=True`` (so a typo never shadows a built-in).
    """
    return LAYER_TYPES.register(name, factory, replace=replace)


def unregister_layer(name: str) -> None:
    """Remove a layer type (e.g. one a test registered)."""
    LAYER_TYPES.unregister(name)


def registered_layers() -> list[str]:
    """The names of all registered layer types, sorted."""
    return LAYER_TYPES.names()


def _is_stack(spec: Any) -> bool:
    return isinstance(spec, Sequence) and not isinstance(spec, (str, bytes))


def check_layer_spec(spec: Any, where: str = "layer") -> None:
    """Check a spec's types (recursively through sequential stacks) without building it."""
    if isinstance(spec, nn.Module):
        return
    if _is_stack(spec):
        if not spec:
            raise ValueError(f"{where}: an empty list of layers")
        for i, item in enumerate(spec):
            check_layer_spec(item, f"{where} layer #{i}")
        return
    if not isinstance(spec, Mapping):
        raise TypeError(
            f"{where}: layers must be an nn.Module, a spec dict {{'type': ...}} or a list of those, "
            f"got {type(spec).__name__}"
        )
    kind = spec.get("type")
    if not isinstance(kind, str):
        raise ValueError(f"{where}: a layer spec needs a 'type' naming a registered layer, got {dict(spec)!r}")
    if kind not in LAYER_TYPES:
        raise ValueError(f"{where}: unknown layer type {kind!r}; registered types: {registered_layers()}")
    if kind == "sequential":
        check_layer_spec(spec.get("layers", []), f"{where} (sequential)")


def build_layer(spec: Any, where: str = "layer") -> nn.Module:
    """The module for a spec: a module as is, a list as a sequential stack, a dict through its registered factory."""
    check_layer_spec(spec, where)
    if isinstance(spec, nn.Module):
        return spec
    if _is_stack(spec):
        return GraphSequential(*(build_layer(item, f"{where} layer #{i}") for i, item in enumerate(spec)))
    kwargs = {key: value for key, value in spec.items() if key != "type"}
    try:
        module = LAYER_TYPES[spec["type"]](**kwargs)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: cannot build layer type {spec['type']!r} from {kwargs}: {error}") from error
    if not isinstance(module, nn.Module):
        raise TypeError(f"{where}: the factory of layer type {spec['type']!r} returned {type(module).__name__}")
    return module


def describe_layer(spec: Any, width: int = 30) -> str:
    """A short label: a spec's type and arguments (a stack's types joined by ">"), or a module's class name."""
    if isinstance(spec, nn.Module):
        text = type(spec).__name__
    elif _is_stack(spec):
        text = " > ".join(str(item.get("type")) if isinstance(item, Mapping) else type(item).__name__ for item in spec)
    elif spec.get("type") == "sequential":
        return describe_layer(spec.get("layers", []), width)
    else:
        args = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "type")
        text = f"{spec.get('type')}({args})" if args else str(spec.get("type"))
    return text if len(text) <= width else text[: width - 3] + "..."


def _sequential(layers: Sequence[Any]) -> nn.Module:
    if not _is_stack(layers):
        raise TypeError(f"sequential needs a list of layer specs, got {type(layers).__name__}")
    return build_layer(list(layers), "sequential")


def _identity() -> nn.Module:
    return nn.Identity()  # nn.Identity itself swallows any argument, which would hide a typo


def _global_avg_pool() -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _register_builtins() -> None:
    builtins: dict[str, LayerFactory] = {
        "identity": _identity,
        "linear": nn.Linear,
        "mlp": MLP,
        "sequential": _sequential,
        "concat": Concat,
        "select": Select,
        "flatten": nn.Flatten,
        "dropout": nn.Dropout,
        "conv2d": nn.Conv2d,
        "vgg_core": VGGCore,
        "global_avg_pool": _global_avg_pool,
        "binary_head": binary_head,
        "multiclass_head": multiclass_head,
        "regression_head": regression_head,
        **ACTIVATIONS,
    }
    for name, factory in builtins.items():
        register_layer(name, factory)


_register_builtins()
