"""Reading the nested dataloader structure of the nnfabrik contract.

A split is ``{task: loader}`` or ``{task: {data_key: loader}}``; both are normalised to
``{task: {data_key: loader}}`` with ``data_key=None`` for tasks without sessions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..common.names import TRAIN, VALIDATION

__all__ = ["normalise_split", "normalise_dataloaders", "named_loaders", "loader_name"]


def _check_loader(loader, where: str) -> None:
    if not hasattr(loader, "__iter__"):
        raise TypeError(f"{where} must be an iterable loader (e.g. a torch DataLoader), got {type(loader).__name__}")
    try:
        length = len(loader)
    except TypeError as error:
        raise TypeError(f"{where} has no len(); the trainer needs loaders of known length") from error
    if length == 0:
        raise ValueError(f"{where} is empty (len 0)")


def normalise_split(split, split_name: str) -> dict[str, dict[str | None, object]]:
    """``{task: loader}`` / ``{task: {data_key: loader}}`` -> ``{task: {data_key or None: loader}}``."""
    if not isinstance(split, Mapping):
        raise TypeError(
            f"dataloaders[{split_name!r}] must be a dict {{task: loader}} or {{task: {{data_key: loader}}}}, "
            f"got {type(split).__name__}"
        )
    if not split:
        raise ValueError(f"dataloaders[{split_name!r}] holds no task")
    normalised = {}
    for task, value in split.items():
        if not isinstance(task, str):
            raise TypeError(f"task names must be strings, got {task!r} in dataloaders[{split_name!r}]")
        if isinstance(value, Mapping) and list(value) == [None]:
            value = value[None]  # already normalised (idempotent)
        if isinstance(value, Mapping):
            if not value:
                raise ValueError(f"dataloaders[{split_name!r}][{task!r}] holds no data_key")
            for data_key, loader in value.items():
                if not isinstance(data_key, str):
                    raise TypeError(
                        f"data_keys must be strings, got {data_key!r} in dataloaders[{split_name!r}][{task!r}]"
                    )
                _check_loader(loader, f"dataloaders[{split_name!r}][{task!r}][{data_key!r}]")
            normalised[task] = dict(value)
        else:
            _check_loader(value, f"dataloaders[{split_name!r}][{task!r}]")
            normalised[task] = {None: value}
    return normalised


def normalise_dataloaders(dataloaders) -> dict[str, dict[str, dict[str | None, object]]]:
    """Normalise every split; "train" and "validation" are required (the best epoch is chosen on validation)."""
    if not isinstance(dataloaders, Mapping):
        raise TypeError(f"dataloaders must be a dict of splits, got {type(dataloaders).__name__}")
    missing = [name for name in (TRAIN, VALIDATION) if name not in dataloaders]
    if missing:
        raise ValueError(f"dataloaders lacks the split(s) {missing}; it has {sorted(dataloaders)}")
    return {str(name): normalise_split(split, str(name)) for name, split in dataloaders.items()}


def loader_name(split: str, task: str, data_key) -> str:
    """A stable string naming one loader, e.g. ``"train/neural/session_1"``."""
    return f"{split}/{task}" if data_key is None else f"{split}/{task}/{data_key}"


def named_loaders(splits: Mapping) -> Iterator[tuple[str, object]]:
    """``(name, loader)`` for every loader of every split, in a fixed order."""
    for split, tasks in splits.items():
        for task, loaders in tasks.items():
            for data_key, loader in loaders.items():
                yield loader_name(split, task, data_key), loader
