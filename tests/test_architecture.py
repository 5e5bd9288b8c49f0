"""The layout's dependency rules, read from the source: pipeline/ is the only importer of datajoint, and
trainer/, models/ and dataset/ never import each other (or the pipeline)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "neural_cotraining"
INDEPENDENT = ("trainer", "models", "dataset")


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything a file imports (relative imports resolved against its package)."""
    package = ".".join(("neural_cotraining", *path.relative_to(PACKAGE).parent.parts))
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_pipeline_imports_datajoint():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "pipeline" not in path.relative_to(PACKAGE).parts
        and any(name == "datajoint" or name.startswith("datajoint.") for name in imported_modules(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("subpackage", INDEPENDENT)
def test_trainer_models_and_dataset_do_not_import_each_other(subpackage):
    forbidden = [f"neural_cotraining.{other}" for other in (*INDEPENDENT, "pipeline", "cli", "demo") if other != subpackage]
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path) if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        for path in (PACKAGE / subpackage).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_resolver_sees_relative_imports():
    # guards against a vacuous pass: these relative imports must resolve to absolute names
    assert "neural_cotraining.registry.resolve_builder" in imported_modules(PACKAGE / "pipeline" / "entries.py")
    assert "neural_cotraining.trainer.weighting.base" in imported_modules(PACKAGE / "trainer" / "weighting" / "dwa.py")


def module_name(path: Path) -> str:
    name = ".".join(("neural_cotraining", *path.relative_to(PACKAGE).with_suffix("").parts))
    return name.removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports; a package and its own submodules are left out of each other's
    edges (a package re-exporting its submodules' names is no circle)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for imported in imported_modules(path):
            parts = imported.split(".")
            target = next((".".join(parts[:k]) for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in modules),
                          None)
            related = target is not None and (target.startswith(name + ".") or name.startswith(target + "."))
            if target is not None and target != name and not related:
                edges.add(target)
        graph[name] = edges
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every set of two or more modules that import each other, directly or through others (Tarjan)."""
    index, low, stack, found, counter = {}, {}, [], [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others():
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "neural_cotraining.cli.common" in import_graph()["neural_cotraining.cli.experiments"]


def test_common_imports_nothing_of_the_package():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path)
            if name.startswith("neural_cotraining.") and not name.startswith("neural_cotraining.common")
        )
        for path in (PACKAGE / "common").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert "neural_cotraining.common.config_keys" in imported_modules(PACKAGE / "common" / "__init__.py")
