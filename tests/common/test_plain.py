import numpy as np

from neural_cotraining.common.plain import from_numpy, plain_values


def test_numpy_inside_containers_becomes_python():
    value = {"a": np.int64(2), "b": [np.float32(0.5), (np.arange(2), "x")], "c": None}
    plain = plain_values(value)
    assert plain == {"a": 2, "b": [0.5, ([0, 1], "x")], "c": None}
    assert type(plain["a"]) is int and type(plain["b"][0]) is float and isinstance(plain["b"][1], tuple)


def test_tuples_become_lists_when_asked():
    assert plain_values({"size": (np.int32(3), 4)}, tuples_as_lists=True) == {"size": [3, 4]}


def test_other_values_pass_unchanged():
    marker = object()
    assert from_numpy(marker) is marker and from_numpy("s") == "s"
