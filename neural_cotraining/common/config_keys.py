"""The one strict-key check: a config key a function does not accept is refused, naming the accepted ones.

Configs come from files and database rows, so the message has to say which keys *are* accepted (Python's own
``unexpected keyword argument`` does not). Every layer raises :class:`ConfigKeyError` for it: the models' documented
``UnknownConfigKeyError`` is this class, the registry's ``ConfigKeyError`` (also a ``BuilderError``) a subclass,
so ``except`` clauses on any of them keep working.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ConfigKeyError", "check_config_keys", "keyword_names", "strict_keywords"]

_BY_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class ConfigKeyError(TypeError, ValueError):
    """A config key that is not accepted (a TypeError like Python's own for a bad keyword, and a ValueError: a bad
    config), or a required one that is missing."""


def check_config_keys(
    where: str, given: Iterable[str], accepted: Iterable[str], error: type[ConfigKeyError] = ConfigKeyError
) -> None:
    """Raise ``error`` naming ``where``, the keys of ``given`` not in ``accepted`` and every accepted key."""
    accepted = list(accepted)
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise error(f"{where} does not accept config keys {unknown}; accepted keys: {sorted(accepted)}")


def keyword_names(function: Callable, leave_out: Iterable[str] = (), only_keyword_only: bool = False) -> list[str]:
    """The names ``function`` takes by keyword (in signature order), without those in ``leave_out``."""
    kinds = (inspect.Parameter.KEYWORD_ONLY,) if only_keyword_only else _BY_KEYWORD
    leave_out = set(leave_out)
    return [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in kinds and name not in leave_out
    ]


def strict_keywords(passed: Iterable[str] = (), only_keyword_only: bool = False) -> Callable[[Callable], Callable]:
    """Decorator: the wrapped function refuses keywords it does not name (see :func:`check_config_keys`).

    ``passed`` are arguments the caller hands over itself (``dataloaders``, ``seed``): allowed as keywords but not
    listed as config keys. The wrapper keeps the function's signature visible (``functools.wraps`` sets
    ``__wrapped__``) and carries ``accepted_keys``.
    """
    passed = tuple(passed)

    def decorate(function: Callable) -> Callable:
        accepted = keyword_names(function, passed, only_keyword_only)

        @functools.wraps(function)
        def checked(*args: Any, **config: Any) -> Any:
            check_config_keys(f"{function.__name__}()", set(config) - set(passed), accepted)
            return function(*args, **config)

        checked.accepted_keys = tuple(accepted)  # type: ignore[attr-defined]
        return checked

    return decorate
