"""Session pickles are read as plain data: a crafted pickle's import side effect never runs."""

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neural_cotraining.dataset import monkey_static_loaders
from neural_cotraining.dataset.neural.safe_pickle import UnsafePickleError, load_plain_pickle

MODULE = "nc_pickle_side_effect"
ROOT = Path(__file__).resolve().parents[2]


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


CRAFTED = Path(__file__).resolve().parents[1] / "data" / "pickles"
CRAFTED_FILES = sorted(CRAFTED.glob("*.pickle"))
DTYPES = [
    np.dtype("f8"), np.dtype(">i4"), np.dtype("<i4"), np.dtype("b1"), np.dtype("?"), np.dtype("c16"), np.dtype("U3"), np.dtype("S5"), np.dtype("V7"),
    np.dtype("M8[ns]"), np.dtype(">m8[25s]"), np.dtype(("<f4", (2, 3))),
    np.dtype([("a", "i1"), ("b", ">f8", (2,))]), np.dtype([("a", "i1"), ("b", "<i8")], align=True),
    np.dtype({"names": ["x"], "formats": ["u1"], "offsets": [3], "itemsize": 8, "titles": ["T"]}),
    np.dtype([("outer", [("inner", "<u2"), ("s", "S2")])]),
]


@pytest.mark.parametrize("protocol", [2, 5])
def test_arrays_and_scalars_of_every_plain_dtype_load_as_numpy_loads_them(tmp_path, protocol):
    item_dtypes = [dtype for dtype in DTYPES if dtype.subdtype is None]  # a sub-array dtype makes a plain array
    arrays = [np.frombuffer(bytes(range(3 * dtype.itemsize)), dtype=dtype).copy() for dtype in item_dtypes]
    # each dtype twice, so the second of "<i4" and ">i4" (one cached numpy object before BUILD) is a memo reference
    data = {"arrays": arrays, "scalars": [array[1] for array in arrays], "dtypes": DTYPES, "again": DTYPES}
    path = tmp_path / "all.pickle"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    back, reference = load_plain_pickle(path), pickle.loads(path.read_bytes())
    assert back["dtypes"] == reference["dtypes"] == DTYPES
    assert [dtype.str for dtype in back["again"]] == [dtype.str for dtype in DTYPES]
    # numpy itself reads some non-native arrays back in native byte order: the same values, as plain loading gives
    assert [array.dtype for array in back["arrays"]] == [array.dtype for array in reference["arrays"]]
    assert [a.tobytes() for a in back["arrays"]] == [b.tobytes() for b in reference["arrays"]]
    assert [a.tobytes() for a in back["scalars"]] == [b.tobytes() for b in reference["scalars"]]


@pytest.mark.parametrize("crafted", CRAFTED_FILES, ids=lambda path: path.name)
def test_a_crafted_dtype_corrupts_memory_under_plain_unpickling(crafted):
    """The test data are real attacks: numpy's own unpickling of them dies with a segmentation fault."""
    code = "import pickle, sys\nprint(repr(pickle.load(open(sys.argv[1], 'rb'))))"
    completed = subprocess.run([sys.executable, "-c", code, str(crafted)], capture_output=True, timeout=60)
    assert completed.returncode == -signal.SIGSEGV


@pytest.mark.parametrize("crafted", CRAFTED_FILES, ids=lambda path: path.name)
def test_a_crafted_dtype_is_refused_in_one_line_naming_the_file(crafted):
    code = (
        "import pickle, sys\nfrom neural_cotraining.dataset.neural.safe_pickle import load_plain_pickle\n"
        "try:\n    print(repr(load_plain_pickle(sys.argv[1])))\nexcept (ValueError, pickle.UnpicklingError) as error:\n    print(error)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code, str(crafted)], capture_output=True, text=True,
                               timeout=60, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("\n") == 1
    assert completed.stdout.startswith(f"{crafted}: refused: a ")
    assert "outside its 8-byte item" in completed.stdout or "holds Python objects" in completed.stdout


def test_the_monkey_loader_refuses_a_crafted_dtype_in_a_session_pickle(tmp_path, monkey_static_writer):
    good, images = monkey_static_writer(tmp_path)
    crafted = CRAFTED / "object_field_array.pickle"
    with pytest.raises(UnsafePickleError, match=f"{crafted.name}: refused: a structured or sub-array dtype"):
        monkey_static_loaders(0, neuronal_data_files=[str(good), str(crafted)], image_cache_path=str(images),
                              time_bins_sum=4)


@pytest.mark.parametrize("reduce", [
    b"cnumpy\ndtype\n(}tR.",  # a dtype made from a dict, not a type code
    b"cnumpy\nndarray\n(K\x04\x85X\x01\x00\x00\x00OC\x20" + b"A" * 32 + b"tR.",  # ndarray(shape, "O", buffer)
])
def test_dtype_and_ndarray_are_not_general_constructors(tmp_path, reduce):
    path = tmp_path / "constructor.pickle"
    path.write_bytes(b"\x80\x02" + reduce)
    with pytest.raises(ValueError, match="constructor.pickle: "):
        load_plain_pickle(path)
