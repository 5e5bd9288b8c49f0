"""One torch thread for the searches' trainings: the two cores are shared, and threads that fight over them make a
trial ten times slower."""

import pytest

from tests.threads import torch_threads


@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):
        yield
