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
    assert "neural_cotraining.builders.resolve_builder" in imported_modules(PACKAGE / "pipeline" / "entries.py")
    assert "neural_cotraining.trainer.weighting.base" in imported_modules(PACKAGE / "trainer" / "weighting" / "dwa.py")
