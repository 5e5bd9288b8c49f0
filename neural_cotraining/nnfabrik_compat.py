"""nnfabrik's ``builder`` helpers: build a run's parts (dataloaders, model, trainer) from builder names and configs.

Same names, arguments and results as ``nnfabrik.builder``; a name is resolved through the allow-list of
:mod:`neural_cotraining.registry` (never ``eval``), a callable is used as it is. No database is involved.

- ``get_data(dataset_fn, dataset_config)`` -> ``dataset_fn(**dataset_config)`` (the seed, if any, is in the config);
- ``get_model(model_fn, model_config, dataloaders=None, seed=None, state_dict=None, strict=True, data_info=None)``;
- ``get_trainer(trainer_fn, trainer_config=None)`` -> the trainer, with its config bound when given;
- ``get_all_parts(dataset_fn, dataset_config, model_fn, model_config, seed=None, state_dict=None, strict=True,
  trainer_fn=None, trainer_config=None)`` -> ``(dataloaders, model)`` or ``(dataloaders, model, trainer)``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from .registry import BuilderError, resolve_builder

__all__ = ["resolve_fn", "resolve_data", "resolve_model", "resolve_trainer", "get_data", "get_model", "get_trainer",
           "get_all_parts"]


def resolve_fn(fn_name: str, default_base: str | None = None) -> Callable:
    """The builder named ``fn_name`` ("package.module.function"). nnfabrik also looks a bare name up in
    ``default_base`` with ``eval``; here a bare name is refused, with the reason."""
    if isinstance(fn_name, str) and "." not in fn_name:
        raise BuilderError(f"{fn_name!r}: give the builder's full dotted name (package.module.function)")
    return resolve_builder(fn_name)


resolve_data = resolve_model = resolve_trainer = resolve_fn


def _resolved(fn: str | Callable) -> Callable:
    return resolve_fn(fn) if isinstance(fn, str) else fn


def get_data(dataset_fn: str | Callable, dataset_config: dict) -> Any:
    """``dataset_fn(**dataset_config)``."""
    return _resolved(dataset_fn)(**dataset_config)


def get_model(
    model_fn: str | Callable,
    model_config: dict,
    dataloaders: Any = None,
    seed: int | None = None,
    state_dict: dict | None = None,
    strict: bool = True,
    data_info: Any = None,
) -> Any:
    """``model_fn(dataloaders, seed=seed, **model_config)`` (with ``data_info=`` when given), loaded with
    ``state_dict`` when given."""
    builder = _resolved(model_fn)
    extra = {} if data_info is None else {"data_info": data_info}
    model = builder(dataloaders, seed=seed, **extra, **model_config)
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=strict)
    return model


def get_trainer(trainer_fn: str | Callable, trainer_config: dict | None = None) -> Callable:
    """The trainer; with ``trainer_config`` given, a partial with the config bound."""
    trainer = _resolved(trainer_fn)
    return trainer if trainer_config is None else partial(trainer, **trainer_config)


def get_all_parts(
    dataset_fn: str | Callable,
    dataset_config: dict,
    model_fn: str | Callable,
    model_config: dict,
    seed: int | None = None,
    state_dict: dict | None = None,
    strict: bool = True,
    trainer_fn: str | Callable | None = None,
    trainer_config: dict | None = None,
) -> tuple:
    """``(dataloaders, model)``, or ``(dataloaders, model, trainer)`` when ``trainer_fn`` is given. ``seed`` goes
    to the dataset builder unless its config sets one (the config given is not changed)."""
    if seed is not None and "seed" not in dataset_config:
        dataset_config = {**dataset_config, "seed": seed}
    dataloaders = get_data(dataset_fn, dataset_config)
    model = get_model(model_fn, model_config, dataloaders, seed=seed, state_dict=state_dict, strict=strict)
    if trainer_fn is None:
        return dataloaders, model
    return dataloaders, model, get_trainer(trainer_fn, trainer_config)
