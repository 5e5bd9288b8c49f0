"""YAML read with bounds: how deep it nests and how many values its aliases expand to.

PyYAML's safe loader runs no code, but two things still hurt: a document nested thousands of levels deep exhausts
Python's recursion while it is parsed (a stack of tracebacks naming nothing), and a short chain of anchors and
aliases ("billion laughs": each list holds nine aliases of the one before) expands to billions of values in
whatever walks the result (hashing, config checks), which runs for minutes. Both are refused while the file is
composed, with the key where it happens.
"""

from __future__ import annotations

import yaml

__all__ = ["MAX_DEPTH", "MAX_VALUES", "YamlBoundsError", "load_bounded"]

MAX_DEPTH = 64
MAX_VALUES = 1_000_000


class YamlBoundsError(ValueError):
    """The document nests too deeply or expands to too many values; the message names the key."""


def _where(path: list) -> str:
    parts = []
    for step in path[:12]:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(step))
    return "".join(parts) + ("..." if len(path) > 12 else "") or "the top level"


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._path: list = []
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to (aliases counted every time)

    def compose_node(self, parent, index):
        if parent is not None:
            self._path.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        try:
            if len(self._path) > MAX_DEPTH:
                raise YamlBoundsError(f"{_where(self._path)} is nested more than {MAX_DEPTH} levels deep")
            node = super().compose_node(parent, index)
            self._count(node)
            return node
        finally:
            if parent is not None:
                self._path.pop()

    def _count(self, node) -> None:
        if id(node) in self._sizes:
            return
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes.get(id(item), 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes.get(id(key), 1) + self._sizes.get(id(value), 1) for key, value in node.value)
        else:
            size = 1
        if size > MAX_VALUES:
            raise YamlBoundsError(f"{_where(self._path)} expands to more than {MAX_VALUES:,} values (through YAML "
                                  "aliases, *name)")
        self._sizes[id(node)] = size


def load_bounded(text: str):
    """``yaml.safe_load(text)`` within :data:`MAX_DEPTH` and :data:`MAX_VALUES`; YamlBoundsError otherwise."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
