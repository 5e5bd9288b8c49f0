"""Torch thread counts for tests: fixed, so runs repeat and stay fast when the two cores are shared."""

from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(count: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
