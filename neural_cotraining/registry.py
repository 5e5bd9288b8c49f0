"""Resolve builder functions by dotted name, importing only from allowed modules, and check their configs.

Builder names read out of the database ("package.module.function") are code to run, so they are resolved without
``eval`` and only inside an allow-list of module prefixes:

- ``neural_cotraining`` itself, always;
- prefixes listed (comma- or colon-separated) in the environment variable ``NEURAL_COTRAINING_BUILDER_MODULES``;
- prefixes listed under ``"builder_modules"`` in the JSON file named by ``NEURAL_COTRAINING_CONFIG``;
- prefixes registered at run time with :func:`allow_builder_modules` (an experiment file's ``builder_modules``,
  or those an added experiment recorded in the database, which :func:`check_recorded_module` checks first).

A prefix allows that module and its submodules (``my_lab`` allows ``my_lab.models`` but not ``my_labx``).
The module is checked before anything is imported, and the function found must be defined there: a name that a
module merely imports (``my_lab.utils.run`` where ``utils`` says ``from subprocess import run``) does not resolve.

Inside ``neural_cotraining`` a builder is named by registration, not by the file it lives in (as timm's
``@register_model``): :func:`register_builder` records each shipped builder under one canonical name,
``neural_cotraining.<dataset|models|trainer>.builders.<function>``, wherever its code is, plus the older names it
was stored under (aliases, so no stored key changes when code moves). Only registered names resolve; anything else
of ours (``neural_cotraining.cli.main``, the database starter's helpers) is refused, so a name read from the
database cannot run it. :func:`builder_name` of a registered function is its canonical name, so adding an entry by
function or by name gives the same key. In a user's allowed modules any public function resolves by its dotted
path, as in nnfabrik.

Configs are checked against the builder's signature when an entry is added: every key must be a keyword the builder
accepts (unless it takes ``**kwargs``), and every keyword without a default must be given. A builder may also carry
a check of its config's values (:func:`checks_config`), run at the same moment, so a bad value (a negative noise
level, say) is refused before anything is inserted rather than when a worker builds the entry.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import sys
from typing import Any, Callable, Iterable

from .common import config_keys
from .hashing import canonical_form

__all__ = [
    "BUILDER_MODULES_ENV",
    "CONFIG_FILE_ENV",
    "BuilderError",
    "DisallowedBuilderError",
    "ConfigKeyError",
    "ConfigValueError",
    "RESERVED_ARGUMENTS",
    "checks_config",
    "allow_builder_modules",
    "allowed_module_prefixes",
    "check_recorded_module",
    "resolve_builder",
    "check_config",
    "check_entry",
    "builder_name",
    "register_builder",
    "registered_builders",
    "stored_names",
]

BUILDER_MODULES_ENV = "NEURAL_COTRAINING_BUILDER_MODULES"
CONFIG_FILE_ENV = "NEURAL_COTRAINING_CONFIG"

# Arguments the pipeline passes itself; a config must not set them. A dataset config may set "seed" (nnfabrik's
# rule, see nnfabrik_compat.get_all_parts): it then fixes the data's seed whatever the job's seed is.
RESERVED_ARGUMENTS = {
    "dataset": (),
    "model": ("dataloaders", "seed"),
    "trainer": ("model", "dataloaders", "seed", "uid", "cb"),
}

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED_NAME = re.compile(rf"{_IDENTIFIER}(\.{_IDENTIFIER})+")
_runtime_prefixes: list[str] = []
_OWN_PACKAGE = "neural_cotraining"
# where each kind's canonical names live (the modules that list every builder of that kind for users)
_BUILDER_MODULES = {"dataset": "neural_cotraining.dataset.builders", "model": "neural_cotraining.models.builders",
                    "trainer": "neural_cotraining.trainer.builders"}
_registered: dict[str, Callable] = {}  # canonical name -> builder
_aliases: dict[str, str] = {}  # an older stored name -> canonical name
_canonical_of: dict[int, str] = {}  # id(builder) -> canonical name


class BuilderError(ValueError):
    """A builder name or config that cannot be used."""


class DisallowedBuilderError(BuilderError):
    """A builder from a module outside the allow-list."""


class ConfigKeyError(BuilderError, config_keys.ConfigKeyError):
    """A config key the builder does not accept, or a required one that is missing (the common ConfigKeyError,
    and a BuilderError)."""


class ConfigValueError(BuilderError):
    """A config value the builder's own check refuses."""


def checks_config(check: Callable[[dict], None]) -> Callable[[Callable], Callable]:
    """Decorator: attach ``check(config)`` (raising ``ValueError``/``TypeError`` naming the key) to a builder, for
    :func:`check_config` to run when an entry is added."""

    def attach(function: Callable) -> Callable:
        function.check_config_values = check
        return function

    return attach


def register_builder(kind: str, aliases: Iterable[str] = ()) -> Callable[[Callable], Callable]:
    """Decorator: record a shipped builder under its canonical name ``<kind's builders module>.<function name>``
    and under ``aliases`` (names it was stored under before). Registering two builders under one name raises."""
    if kind not in _BUILDER_MODULES:
        raise ValueError(f"kind must be one of {sorted(_BUILDER_MODULES)}, not {kind!r}")

    def record(function: Callable) -> Callable:
        name = f"{_BUILDER_MODULES[kind]}.{function.__name__}"
        for known in (name, *aliases):
            holder = _registered.get(known) or _registered.get(_aliases.get(known, ""))
            if holder is not None and holder is not function:
                raise ValueError(f"builder name {known} is taken by {holder.__module__}.{holder.__qualname__}")
        _registered[name] = function
        _aliases.update({alias: name for alias in aliases})
        _canonical_of[id(function)] = name
        return function

    return record


def _load_own_builders() -> None:
    """Import the builders modules, which import (and so register) every shipped builder."""
    for module in _BUILDER_MODULES.values():
        importlib.import_module(module)


def stored_names(name: str) -> list[str]:
    """The names an entry of builder ``name`` may be stored under, the one new entries get first: a shipped
    builder's canonical name, then its aliases; a user's builder, its dotted name."""
    if not (isinstance(name, str) and _is_allowed(name.rsplit(".", 1)[0], [_OWN_PACKAGE])):
        return [name]
    canonical = builder_name(_own_builder(name))
    return [canonical, *sorted(alias for alias, target in _aliases.items() if target == canonical)]


def registered_builders() -> dict[str, Callable]:
    """Every shipped builder by canonical name."""
    _load_own_builders()
    return dict(_registered)


def _split_prefixes(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,:]", text) if part.strip()]


def _prefixes_from_config_file() -> list[str]:
    path = os.environ.get(CONFIG_FILE_ENV)
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle)
    except FileNotFoundError as error:
        raise BuilderError(f"{CONFIG_FILE_ENV} names {path}, which does not exist") from error
    except json.JSONDecodeError as error:
        raise BuilderError(f"{path} (from {CONFIG_FILE_ENV}) is not valid JSON: {error}") from error
    modules = settings.get("builder_modules", [])
    if not isinstance(modules, list) or not all(isinstance(item, str) for item in modules):
        raise BuilderError(f'{path}: "builder_modules" must be a list of module names')
    return modules


def allow_builder_modules(*prefixes: str) -> None:
    """Allow builders from these modules (and their submodules) for the rest of this process."""
    for prefix in prefixes:
        if not re.fullmatch(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*", prefix):
            raise BuilderError(f"{prefix!r} is not a module name")
        if prefix not in _runtime_prefixes:
            _runtime_prefixes.append(prefix)


# what a module prefix read from the database may never be: the standard library and the interpreter's own
# modules run anything, and a private or ``__main__`` module is no lab's builder package
_NEVER_RECORDED = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)


def check_recorded_module(name: object, where: str = "builder module") -> str:
    """``name`` if it may be allowed as a builder module prefix read from the database (untrusted): a dotted
    identifier, not the standard library, ``builtins`` or a private top-level module; raises
    :class:`DisallowedBuilderError` in one line naming ``where`` otherwise."""
    if not isinstance(name, str) or not re.fullmatch(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*", name):
        raise DisallowedBuilderError(f"{where}: {name!r} is not a dotted module name; refused")
    top = name.split(".", 1)[0]
    if top in _NEVER_RECORDED:
        raise DisallowedBuilderError(f"{where}: {name!r} is part of Python's standard library; refused")
    if top.startswith("_"):
        raise DisallowedBuilderError(f"{where}: {name!r} is a private or __main__ module; refused")
    return name


def allowed_module_prefixes() -> list[str]:
    """Every allowed module prefix, ours first."""
    prefixes = [_OWN_PACKAGE]
    for source in (_split_prefixes(os.environ.get(BUILDER_MODULES_ENV, "")), _prefixes_from_config_file(), _runtime_prefixes):
        prefixes.extend(prefix for prefix in source if prefix not in prefixes)
    return prefixes


def _is_allowed(module_name: str, prefixes: Iterable[str]) -> bool:
    return any(module_name == prefix or module_name.startswith(prefix + ".") for prefix in prefixes)


def builder_name(function: Callable) -> str:
    """The dotted name under which ``function`` is stored: a shipped builder's canonical name, else
    "module.function"."""
    return _canonical_of.get(id(function)) or f"{function.__module__}.{function.__qualname__}"


def resolve_builder(name: str) -> Callable:
    """The function named ``name`` ("package.module.function"), imported only from an allowed module."""
    if not isinstance(name, str) or not _DOTTED_NAME.fullmatch(name):
        raise BuilderError(f"{name!r} is not a builder name of the form 'package.module.function'")
    module_name, function_name = name.rsplit(".", 1)
    if function_name.startswith("_"):
        raise BuilderError(f"{name}: private names cannot be builders")
    if _is_allowed(module_name, [_OWN_PACKAGE]):
        return _own_builder(name)
    prefixes = allowed_module_prefixes()
    if not _is_allowed(module_name, prefixes):
        raise DisallowedBuilderError(
            f"builder {name!r} is in module {module_name!r}, which is not on the allow-list {prefixes}; "
            f"add its package to {BUILDER_MODULES_ENV} (comma-separated) or call allow_builder_modules()"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BuilderError(f"builder {name!r}: cannot import module {module_name!r}: {error}") from error
    function = getattr(module, function_name, None)
    if function is None:
        raise BuilderError(f"builder {name!r}: module {module_name!r} has no attribute {function_name!r}")
    if not inspect.isfunction(function):
        raise BuilderError(f"builder {name!r} is a {type(function).__name__}, not a function")
    # a name an allowed module only imports (a re-export of subprocess.run, say) is not one of its builders
    defined_in = getattr(function, "__module__", None) or "?"
    if not _is_allowed(defined_in, prefixes):
        raise DisallowedBuilderError(
            f"builder {name!r} is defined in module {defined_in!r}, which is not on the allow-list {prefixes}; "
            f"a function {module_name!r} imports from elsewhere is not one of its builders"
        )
    return function


def _own_builder(name: str) -> Callable:
    """A shipped builder by its canonical name or an alias; nothing else of ours resolves."""
    _load_own_builders()
    function = _registered.get(name) or _registered.get(_aliases.get(name, ""))
    if function is None:
        raise BuilderError(
            f"{name!r} is not a builder: neural_cotraining's builders are {sorted(_registered)}"
        )
    return function


def check_config(function: Callable, config: Any, kind: str) -> None:
    """Refuse a config the builder would not accept; ``kind`` is "dataset", "model" or "trainer"."""
    if kind not in RESERVED_ARGUMENTS:
        raise ValueError(f"kind must be one of {sorted(RESERVED_ARGUMENTS)}, not {kind!r}")
    label = f"{kind} builder {builder_name(function)}"
    if not isinstance(config, dict):
        raise ConfigKeyError(f"{label}: the config must be a dict, not {type(config).__name__}")
    non_string = [key for key in config if not isinstance(key, str)]
    if non_string:
        raise ConfigKeyError(f"{label}: config keys must be strings, got {non_string!r}")
    reserved = RESERVED_ARGUMENTS[kind]
    clashing = sorted(set(config) & set(reserved))
    if clashing:
        raise ConfigKeyError(f"{label}: {clashing} are passed by the pipeline and cannot be config keys")
    parameters = inspect.signature(function).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    accepted = config_keys.keyword_names(function, leave_out=reserved)
    if not takes_any:
        config_keys.check_config_keys(label, config, accepted, ConfigKeyError)
    # the pipeline passes the seed even where a config may set it
    required = [n for n in accepted if parameters[n].default is inspect.Parameter.empty and n != "seed"]
    missing = sorted(set(required) - set(config))
    if missing:
        raise ConfigKeyError(f"{label} needs config keys {missing}, which have no default")
    check_values = getattr(function, "check_config_values", None)
    if callable(check_values):
        try:
            check_values(dict(config))
        except BuilderError:
            raise
        except (TypeError, ValueError) as error:
            raise ConfigValueError(f"{label}: {error}") from error


def check_entry(name: str, config: Any, kind: str, where: str = "config") -> Callable:
    """The builder ``name``, resolved through the allow-list, once ``config`` is known to fit its signature and to
    have a canonical hash; ``where`` names the config in hash errors. Raises naming the problem otherwise."""
    function = resolve_builder(name)
    check_config(function, config, kind)
    canonical_form(config, where)
    return function
