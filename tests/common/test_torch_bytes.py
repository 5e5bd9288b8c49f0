import io
import pickle

import pytest
import torch

from neural_cotraining.common.torch_bytes import from_torch_bytes, to_torch_bytes


class Executes:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_tensors_and_containers_round_trip():
    state = {"weight": torch.arange(6.0).reshape(2, 3), "meta": {"epoch": 3, "names": ["a", "b"]}}
    back = from_torch_bytes(to_torch_bytes(state))
    assert torch.equal(back["weight"], state["weight"]) and back["meta"] == state["meta"]


def test_pickled_code_is_refused():
    buffer = io.BytesIO()
    torch.save({"x": Executes()}, buffer, pickle_module=pickle)
    with pytest.raises(pickle.UnpicklingError):
        from_torch_bytes(buffer.getvalue())
