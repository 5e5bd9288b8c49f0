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


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle_inside_models():
    """Every import, also those inside functions: a cycle (as draw.py <-> model.py once was) breaks whichever
    module is imported first when the other is half-initialised."""
    from tests.test_architecture import imported_modules

    paths = {_module_name(p): p for p in (REPO_ROOT / "neural_cotraining" / "models").rglob("*.py")}
    edges = {name: {m for m in imported_modules(path) if m in paths and m != name} for name, path in paths.items()}
    # the scan sees imports: a vacuous pass would hide a cycle
    assert "neural_cotraining.models.graph.spec" in edges["neural_cotraining.models.graph.draw"]
    cycles, state = [], {}

    def visit(name, trail):
        state[name] = "open"
        for other in sorted(edges[name]):
            if state.get(other) == "open":
                cycles.append(trail[trail.index(other):] + [other])
            elif other not in state:
                visit(other, trail + [other])
        state[name] = "done"

    for name in sorted(paths):
        if name not in state:
            visit(name, [name])
    assert cycles == []
