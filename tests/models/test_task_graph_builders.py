"""The nnfabrik-style graph builders: JSON-able configs, shapes from the loaders, seeding, config checks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from neural_cotraining.registry import check_config, resolve_builder
from neural_cotraining.models import TaskGraphModel, UnknownConfigKeyError
from neural_cotraining.models.builders import hard_sharing_mlp, task_graph_model

REPO_ROOT = Path(__file__).resolve().parents[2]
N_FEATURES = 5


class LabelledSet(TensorDataset):
    def __init__(self, inputs, labels, n_classes):
        super().__init__(inputs, labels)
        self.n_classes = n_classes


def loader(targets, inputs=None, n_classes=None, seed=0):
    inputs = torch.randn(len(targets), N_FEATURES, generator=torch.Generator().manual_seed(seed)) if inputs is None \
        else inputs
    dataset = TensorDataset(inputs, targets) if n_classes is None else LabelledSet(inputs, targets, n_classes)
    return DataLoader(dataset, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def tabular_loaders():
    """Three tasks on the same 5 input features: 3-class labels, 0/1 flags, 2 regression targets."""
    g = torch.Generator().manual_seed(0)
    return {
        "train": {
            "cls": loader(torch.randint(0, 3, (8,), generator=g), n_classes=3),
            "flag": loader(torch.randint(0, 2, (8,), generator=g).float()),
            "reg": loader(torch.randn(8, 2, generator=g)),
        }
    }


def graph_config():
    """A JSON-able task-graph config: a shared trunk, a classification head and a concat-fed regression head."""
    return {
        "nodes": [
            {"name": "trunk", "layers": {"type": "mlp", "sizes": [N_FEATURES, 8], "activate_last": True},
             "anchor": "input"},
            {"name": "cls", "layers": {"type": "multiclass_head", "in_features": 8, "n_classes": 3},
             "anchor": "trunk", "loss": "cross_entropy", "loss_weight": "auto", "loss_init": 0.0},
            {"name": "reg", "layers": [{"type": "concat"}, {"type": "regression_head", "in_features": 13,
                                                            "n_outputs": 2}],
             "anchor": ["trunk", "input"], "loss": "mse", "loss_weight": 2.0},
        ]
    }


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_task_graph_model_from_a_json_round_tripped_config(tabular_loaders):
    loaders = {"train": {t: tabular_loaders["train"][t] for t in ("cls", "reg")}}
    config = json.loads(json.dumps(graph_config()))
    check_config(task_graph_model, config, "model")
    builder = resolve_builder("neural_cotraining.models.builders.task_graph_model")
    model = builder(loaders, 3, **config)
    assert isinstance(model, TaskGraphModel)
    assert model.task_losses == {"cls": "cross_entropy", "reg": "mse"}
    assert model.loss_weights == {"cls": "auto", "reg": 2.0}
    x = next(iter(loaders["train"]["reg"]))[0]
    assert model(x, task="cls").shape == (4, 3) and model(x, task="reg", data_key=None).shape == (4, 2)
    assert model.training  # the build-time check ran in eval mode and restored training mode


def test_same_seed_same_weights_and_global_rng_untouched(tabular_loaders):
    loaders = {"train": {t: tabular_loaders["train"][t] for t in ("cls", "reg")}}
    state = torch.random.get_rng_state()
    first = task_graph_model(loaders, 1, **graph_config())
    assert torch.equal(state, torch.random.get_rng_state())
    assert same_weights(first, task_graph_model(loaders, 1, **graph_config()))
    assert not same_weights(first, task_graph_model(loaders, 2, **graph_config()))
    mlp = hard_sharing_mlp(tabular_loaders, 1, hidden_sizes=[6])
    assert same_weights(mlp, hard_sharing_mlp(tabular_loaders, 1, hidden_sizes=[6]))
    assert not same_weights(mlp, hard_sharing_mlp(tabular_loaders, 2, hidden_sizes=[6]))
    assert torch.equal(state, torch.random.get_rng_state())


def test_a_training_task_missing_from_the_graph_fails_at_build_time(tabular_loaders):
    with pytest.raises(ValueError, match=r"tasks \['flag'\] that are not nodes of the task graph"):
        task_graph_model(tabular_loaders, 0, **graph_config())


def test_a_size_mismatch_fails_at_build_time_naming_the_task(tabular_loaders):
    config = graph_config()
    config["nodes"][0]["layers"]["sizes"] = [N_FEATURES + 1, 8]
    loaders = {"train": {"cls": tabular_loaders["train"]["cls"]}}
    with pytest.raises(ValueError, match=r"cannot compute task 'cls' from its training inputs of shape \(4, 5\)"):
        task_graph_model(loaders, 0, nodes=config["nodes"][:2])


def test_unknown_config_keys_are_rejected(tabular_loaders):
    with pytest.raises(UnknownConfigKeyError, match=r"does not accept config keys \['node'\]"):
        task_graph_model(tabular_loaders, 0, node=[])
    with pytest.raises(UnknownConfigKeyError, match=r"does not accept config keys \['hidden'\].*hidden_sizes"):
        hard_sharing_mlp(tabular_loaders, 0, hidden=[4])
    with pytest.raises(ValueError, match=r"heads\['reg'\] has unknown keys \['kinds'\]"):
        hard_sharing_mlp(tabular_loaders, 0, heads={"reg": {"kinds": "regression"}})


def test_hard_sharing_mlp_sizes_each_head_from_the_loaders(tabular_loaders):
    heads = {"cls": {}, "flag": {"kind": "binary"}, "reg": {"loss_weight": "auto", "loss_init": 1.0}}
    model = hard_sharing_mlp(tabular_loaders, 0, hidden_sizes=[6, 4], heads=json.loads(json.dumps(heads)))
    x = torch.randn(3, N_FEATURES)
    outputs = model.forward_all(x)
    assert {task: out.shape for task, out in outputs.items()} == {"cls": (3, 3), "flag": (3,), "reg": (3, 2)}
    assert model.task_losses == {"cls": "cross_entropy", "flag": "bce_with_logits", "reg": "mse"}
    assert model.loss_weights == {"cls": 1.0, "flag": 1.0, "reg": "auto"}
    assert model.loss_inits["reg"] == 1.0
    assert model.layer("encoder").sizes == [N_FEATURES, 6, 4]
    json.dumps([node.layers for node in model.nodes])  # the built graph is itself a JSON-able config


def test_hard_sharing_mlp_infers_kinds_and_flattens_images():
    g = torch.Generator().manual_seed(0)
    images = torch.randn(8, 1, 3, 3, generator=g)
    loaders = {"train": {
        "digits": loader(torch.randint(0, 4, (8,), generator=g), inputs=images, n_classes=4),
        "size": loader(torch.randn(8, generator=g), inputs=images),
    }}
    model = hard_sharing_mlp(loaders, 0, hidden_sizes=[], heads=None)
    assert model.task_losses == {"digits": "cross_entropy", "size": "mse"}
    assert model(images, task="digits").shape == (8, 4) and model(images, task="size").shape == (8,)
    assert model.layer("digits").in_features == 9  # no hidden layers: heads read the flattened 3x3 input


@pytest.mark.parametrize(
    ("heads", "message"),
    [
        ({"flag": {"kind": "binary", "n_classes": 2}}, "sets n_classes, which applies to multiclass heads only"),
        ({"cls": {"n_classes": 5}}, "config n_classes=5 but the dataset says 3"),
        ({"cls": {"kind": "binary"}}, r"declared binary, but its dataset has n_classes=3"),
        ({"reg": {"n_outputs": 3}}, "n_outputs=3 but targets have 2"),
        ({"reg": {"kind": "multiclass", "n_classes": 3}}, "multiclass targets of task 'reg' must be int64 labels"),
        ({"missing": {}}, r"heads names tasks \['missing'\] that are not in dataloaders\['train'\]"),
        ({"reg": {"kind": "ordinal"}}, r"heads\['reg'\]\['kind'\] must be one of"),
    ],
)
def test_head_config_errors(tabular_loaders, heads, message):
    with pytest.raises(ValueError, match=message):
        hard_sharing_mlp(tabular_loaders, 0, hidden_sizes=[4], heads=heads)


def test_integer_targets_without_n_classes_need_an_explicit_kind():
    labels = loader(torch.tensor([0, 2, 1, 3, 0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"set heads\['t'\]\['kind'\]"):
        hard_sharing_mlp({"train": {"t": labels}}, 0)
    model = hard_sharing_mlp({"train": {"t": labels}}, 0, heads={"t": {"kind": "multiclass", "n_classes": 4}})
    assert model(torch.randn(2, N_FEATURES)).shape == (2, 4)


def test_binary_targets_must_be_zero_or_one():
    with pytest.raises(ValueError, match=r"first targets take the values \[0\.0, 1\.0, 2\.0\]"):
        hard_sharing_mlp(
            {"train": {"t": loader(torch.tensor([0.0, 1.0, 2.0, 1.0]))}}, 0, heads={"t": {"kind": "binary"}}
        )


def test_graph_package_needs_no_datajoint_trainer_dataset_or_matplotlib_to_build():
    script = textwrap.dedent(
        """
        import sys
        for blocked in ("datajoint", "neural_cotraining.trainer", "neural_cotraining.dataset",
                        "neural_cotraining.pipeline"):
            sys.modules[blocked] = None
        import torch
        from torch.utils.data import DataLoader, TensorDataset
        from neural_cotraining.models import hard_sharing_mlp
        loaders = {"train": {"r": DataLoader(TensorDataset(torch.randn(4, 3), torch.randn(4)), batch_size=2)}}
        assert hard_sharing_mlp(loaders, 0, hidden_sizes=[2])(torch.randn(1, 3)).shape == (1,)
        assert "matplotlib" not in sys.modules, "matplotlib is imported only to draw"
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr


def test_hard_sharing_mlp_reads_a_declared_task_kind_and_infers_heads_left_out(tabular_loaders):
    flags = tabular_loaders["train"]["flag"]
    flags.dataset.task_kind = "binary"  # float 0/1 targets that the data declares binary
    model = hard_sharing_mlp(tabular_loaders, 0, hidden_sizes=[4], heads={"reg": {"loss_weight": "auto"}})
    assert model.task_losses == {"cls": "cross_entropy", "flag": "bce_with_logits", "reg": "mse"}
    assert model.loss_weights == {"cls": 1.0, "flag": 1.0, "reg": "auto"}
