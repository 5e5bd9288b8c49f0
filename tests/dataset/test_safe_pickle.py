"""Session pickles are read as plain data: a crafted pickle's import side effect never runs."""

import pickle
import sys

import numpy as np
import pytest

from neural_cotraining.dataset import monkey_static_loaders
from neural_cotraining.dataset.neural.safe_pickle import UnsafePickleError, load_plain_pickle

MODULE = "nc_pickle_side_effect"


def test_numpy_arrays_scalars_and_containers_round_trip(tmp_path):
    data = {
        "floats": np.arange(6.0).reshape(2, 3),
        "strings": np.array(["V1", "V4"]),
        "scalar": np.int64(7),
        "nested": [(1, 2.5, "x", None, b"raw"), {"set": {1, 2}}],
        "objects": np.array([1, "a"], dtype=object),
    }
    for protocol in (2, 4, 5):
        path = tmp_path / f"p{protocol}.pickle"
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        back = load_plain_pickle(path)
        assert np.array_equal(back["floats"], data["floats"]) and back["floats"].dtype == np.float64
        assert back["strings"].tolist() == ["V1", "V4"] and back["scalar"] == 7
        assert back["nested"] == data["nested"] and back["objects"].tolist() == [1, "a"]


@pytest.fixture
def crafted_pickle(tmp_path, monkeypatch):
    """A pickle whose loading would import a module that writes a marker file, and the marker's path."""
    marker = tmp_path / "side_effect_ran"
    package = tmp_path / "importable"
    package.mkdir()
    (package / f"{MODULE}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\ndef payload(*args):\n    return args\n"
    )
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    # GLOBAL opcode "nc_pickle_side_effect payload", called with () -- what a __reduce__ exploit writes
    body = b"c" + MODULE.encode() + b"\npayload\n)R."
    crafted = tmp_path / "session_9.pickle"
    crafted.write_bytes(b"\x80\x02" + body)
    yield crafted, marker
    assert MODULE not in sys.modules  # refused before the module was imported


def test_a_crafted_pickle_is_refused_naming_the_file_and_runs_nothing(crafted_pickle):
    crafted, marker = crafted_pickle
    with pytest.raises(UnsafePickleError, match=rf"{crafted.name}: refused to load {MODULE}.payload"):
        load_plain_pickle(crafted)
    assert not marker.exists()


def test_the_monkey_loader_refuses_a_crafted_session_pickle(crafted_pickle, tmp_path, monkey_static_writer):
    crafted, marker = crafted_pickle
    good, images = monkey_static_writer(tmp_path)
    with pytest.raises(UnsafePickleError, match=crafted.name):
        monkey_static_loaders(0, neuronal_data_files=[str(good), str(crafted)], image_cache_path=str(images),
                              time_bins_sum=4)
    assert not marker.exists()


@pytest.mark.parametrize("target", ["os system", "builtins eval", "numpy load", "subprocess Popen"])
def test_other_globals_are_refused(tmp_path, target):
    path = tmp_path / "bad.pickle"
    module, name = target.split()
    path.write_bytes(b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n)R.")
    with pytest.raises(UnsafePickleError, match=rf"bad.pickle: refused to load {module}.{name}"):
        load_plain_pickle(path)


def test_truncated_and_missing_files_name_the_file(tmp_path):
    path = tmp_path / "cut.pickle"
    path.write_bytes(pickle.dumps({"a": np.arange(100)})[:40])
    with pytest.raises(ValueError, match="cut.pickle: not a readable pickle"):
        load_plain_pickle(path)
    with pytest.raises(FileNotFoundError, match="nowhere.pickle does not exist"):
        load_plain_pickle(tmp_path / "nowhere.pickle")
