"""Keep the trainer tests fast and repeatable on small CPU machines."""

import pytest

from tests.threads import torch_threads


@pytest.fixture(autouse=True)
def _single_thread():
    with torch_threads(1):
        yield
