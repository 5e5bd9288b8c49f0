"""The private DataJoint names the pipeline uses (all behind ``pipeline._datajoint``) still exist."""

import datajoint as dj
import pytest

from neural_cotraining.pipeline import _datajoint


def test_every_private_datajoint_name_the_pipeline_uses_is_there():
    _datajoint.check_private_api()


def test_a_missing_private_name_is_named_in_one_message(monkeypatch):
    from datajoint.autopopulate import AutoPopulate

    monkeypatch.delattr(AutoPopulate, "_populate1")
    with pytest.raises(RuntimeError, match=rf"DataJoint {dj.__version__} lacks .*_populate1"):
        _datajoint.check_private_api()


def test_no_module_outside_the_private_api_module_touches_datajoint_internals():
    from pathlib import Path

    package = Path(_datajoint.__file__).resolve().parents[1]
    private = ("._populate1", "._get_pk", "connection._config", "datajoint.condition", "datajoint.autopopulate")
    offenders = [
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py") if path.name != "_datajoint.py"
        for name in private if name in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
