"""The models subpackage stands alone: no datajoint, no trainer or dataset subpackage."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_models_import_and_build_without_datajoint_trainer_or_dataset():
    script = textwrap.dedent(
        """
        import sys
        for blocked in ("datajoint", "neural_cotraining.trainer", "neural_cotraining.dataset",
                        "neural_cotraining.pipeline"):
            sys.modules[blocked] = None  # any import of these now raises ImportError
        import torch
        from torch.utils.data import DataLoader, TensorDataset
        from neural_cotraining.models import multitask_model

        class Neural(TensorDataset):
            n_neurons = 3

        loader = DataLoader(Neural(torch.randn(4, 1, 16, 16), torch.rand(4, 3)), batch_size=2)
        model = multitask_model({"train": {"neural": {"s": loader}}}, 0, block_channels=[4, 4], convs_per_block=1)
        assert model(torch.randn(1, 1, 16, 16), task="neural", data_key="s").shape == (1, 3)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr
