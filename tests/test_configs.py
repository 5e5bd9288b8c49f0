"""The experiment files in configs/: they load, every key is one its builder accepts (nested configs included), the
tasks of each combination fit together, and the files build and train (the paper's on stand-in data files)."""

from __future__ import annotations

import inspect
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from neural_cotraining.registry import BUILDER_MODULES_ENV, builder_name, check_config, resolve_builder
from neural_cotraining.configs import load_experiment
from neural_cotraining.hashing import canonical_form
from tests.threads import torch_threads

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
FILES = sorted(CONFIGS.glob("*.yaml"))
KINDS = ("dataset", "model", "trainer")
PAPER_TAGS = ("[paper]", "[approx]", "[ours]", "[PLACEHOLDER]")


def entries(experiment):
    for kind in KINDS:
        for label, entry in getattr(experiment, kind + "s").items():
            yield kind, label, entry


@pytest.fixture(autouse=True)
def single_thread():
    # torch's thread pool slows down many-fold when the two cores are busy with other work
    with torch_threads(1):
        yield


@pytest.fixture(autouse=True)
def allow_nothing_extra(monkeypatch):
    # the repository's experiment files use neural_cotraining's own builders only
    monkeypatch.delenv(BUILDER_MODULES_ENV, raising=False)
    monkeypatch.delenv("NEURAL_COTRAINING_CONFIG", raising=False)


# ---- nested configs: the options inside a builder's dict-valued keys ----
def check_cotraining_loaders(config: dict) -> None:
    from neural_cotraining.dataset.builders import NEURAL_FORMATS, image_classification_loaders

    image = dict(config.get("image") or {})
    neural = dict(config.get("neural") or {})
    assert "task" not in image and "task" not in neural  # task names are set with image_task / neural_task
    check_config(image_classification_loaders, image, "dataset")
    neural_format = neural.pop("format", "simulated")
    assert neural_format in NEURAL_FORMATS
    check_config(NEURAL_FORMATS[neural_format], neural, "dataset")


def check_multitask_model(config: dict) -> None:
    from neural_cotraining.models.readouts import READOUT_OPTIONS

    readout_type = config.get("readout_type", "gaussian")
    assert readout_type in READOUT_OPTIONS
    unknown = set(config.get("readout_config") or {}) - set(READOUT_OPTIONS[readout_type])
    assert not unknown, f"readout_config keys {sorted(unknown)} are not options of the {readout_type} readout"


def trainer_losses(config: dict, tasks) -> dict:
    from neural_cotraining.trainer.losses import FLAGSHIP_TASK_LOSSES, build_loss

    names = {**{t: FLAGSHIP_TASK_LOSSES[t] for t in tasks if t in FLAGSHIP_TASK_LOSSES}, **(config.get("loss_functions") or {})}
    return {task: build_loss(name) for task, name in names.items()}


def check_cotrainer(config: dict) -> None:
    from neural_cotraining.trainer import CYCLERS
    from neural_cotraining.trainer.metrics import metric_names
    from neural_cotraining.trainer.assembly import apply_count_task_scheme
    from neural_cotraining.trainer.optimization import build_optimizer, build_scheduler
    from neural_cotraining.trainer.weighting import build_weighting

    assert config.get("cycler", "ratio") in CYCLERS
    monitor = config.get("monitor") or {}
    monitored_tasks = {key.split("/")[1] for key in monitor}
    losses = trainer_losses(config, monitored_tasks | set(config.get("loss_functions") or {}))
    for key, mode in monitor.items():
        split, task, metric = key.split("/", 2)
        assert split == "validation" and mode in ("max", "min"), key
        assert metric in metric_names(losses[task].kind), f"{key}: a {losses[task].kind} task has no {metric}"
    # the optimiser, scheduler and weighting accept their options (the trainer's own constructors check them)
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = build_optimizer(
        config.get("optimizer", "adam"), [parameter], [], config.get("lr", 1e-3), config.get("weight_decay", 0.0),
        config.get("optimizer_options"),
    )
    build_scheduler(
        config.get("lr_scheduler"), optimizer, config.get("lr_scheduler_options"), config.get("max_epochs", 100), "max"
    )
    if losses:
        weighting, options = config.get("loss_weighting", "fixed"), config.get("loss_weighting_options")
        build_weighting(weighting, apply_count_task_scheme(losses, weighting, options), options)


NESTED_CHECKS = {
    "neural_cotraining.dataset.builders.cotraining_loaders": check_cotraining_loaders,
    "neural_cotraining.models.builders.multitask_model": check_multitask_model,
    "neural_cotraining.trainer.builders.cotrainer": check_cotrainer,
}


def dataset_tasks(entry) -> set[str]:
    """The task names a dataset entry's loaders will have."""
    defaults = {
        name: parameter.default for name, parameter in inspect.signature(resolve_builder(entry.fn)).parameters.items()
    }
    if "image_task" in defaults:  # the co-training bundle
        return {entry.config.get(name, defaults[name]) for name in ("image_task", "neural_task")}
    if "task" in defaults:  # single-task builders
        return {entry.config.get("task", defaults["task"])}
    assert entry.config.get("tasks"), f"{entry.fn}: say here how to find the task names of this builder"
    return set(entry.config["tasks"])


# ---- every file ----
def test_the_files_are_there():
    assert {"demo.yaml", "paper.yaml", "template.yaml"} <= {path.name for path in FILES}


def test_demo_is_the_packaged_demo():
    demo = CONFIGS / "demo.yaml"
    packaged = ROOT / "neural_cotraining" / "configs" / "demo.yaml"
    assert demo.is_symlink() and os.path.samefile(demo, packaged)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_entry_fits_its_builder(path):
    experiment = load_experiment(path)
    assert experiment.schema and experiment.builder_modules == []
    checked = 0
    for kind, label, entry in entries(experiment):
        function = resolve_builder(entry.fn)
        assert builder_name(function).startswith("neural_cotraining.")
        check_config(function, entry.config, kind)
        canonical_form(entry.config, f"{path.name}: {kind}s.{label}")  # hashable: plain values only
        nested = NESTED_CHECKS.get(entry.fn)
        if nested is not None:
            nested(entry.config)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_the_tasks_of_each_combination_fit(path):
    experiment = load_experiment(path)
    for combination in experiment.label_combinations():
        tasks = dataset_tasks(experiment.datasets[combination["dataset"]])
        model = experiment.models[combination["model"]].config
        trainer = experiment.trainers[combination["trainer"]].config
        named = set(model.get("tasks") or []) | set(trainer.get("loss_functions") or {})
        named |= {key.split("/")[1] for key in trainer.get("monitor") or {}}
        if trainer.get("main_task"):
            named.add(trainer["main_task"])
        assert named <= tasks, f"{path.name} {combination}: {sorted(named - tasks)} are not tasks of the dataset"


# ---- the template: documented, and it trains as written ----
def key_lines(path: Path, inside_config_only: bool):
    """(line number, line) of every ``key: value`` or ``- item`` line (inside ``config:`` blocks, if asked)."""
    config_indent = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if config_indent is not None and indent <= config_indent:
            config_indent = None
        if stripped.split("#")[0].strip() == "config:":
            config_indent = indent
            continue
        if inside_config_only and config_indent is None:
            continue
        has_value = re.match(r"^(-\s|[A-Za-z_][\w/.-]*:\s+[^\s#])", stripped)
        if has_value:
            yield number, line


def test_template_explains_every_key():
    path = CONFIGS / "template.yaml"
    undocumented = [f"{n}: {line.strip()}" for n, line in key_lines(path, False)
                    if "#" not in line and not line.strip().startswith(("- {", "fn:", "comment:"))]
    assert undocumented == []


def test_template_builds_as_written_and_its_trainer_runs():
    experiment = load_experiment(CONFIGS / "template.yaml")
    (combination,) = experiment.label_combinations()
    seed = experiment.seeds[0]
    dataset, model, trainer = (experiment.datasets[combination["dataset"]], experiment.models[combination["model"]],
                               experiment.trainers[combination["trainer"]])
    dataloaders = resolve_builder(dataset.fn)(seed=seed, **dataset.config)
    assert set(dataloaders["train"]) == dataset_tasks(dataset)
    assert len(dataloaders["robustness"]["img_classification"]) == 4 + 6 * 5  # noise levels + corruptions x severities
    network = resolve_builder(model.fn)(dataloaders, seed=seed, **model.config)
    assert network.core_layers["neural"] == "block1.pool"  # readout_layer 1: the end of block 1

    # the trainer config as written, for one epoch on a smaller variant of the data and network (keeps this fast)
    small_data = {**dataset.config, "image": {**dataset.config["image"], "noise_levels": [0.1], "corruptions": []},
                  "neural": {**dataset.config["neural"], "n_train_images": 60, "n_test_images": 10}}
    small_loaders = resolve_builder(dataset.fn)(seed=seed, **small_data)
    small_network = resolve_builder(model.fn)(small_loaders, seed=seed, **{**model.config, "block_channels": [4, 8]})
    config = {**trainer.config, "max_epochs": 1, "verbose": False}
    score, output, _ = resolve_builder(trainer.fn)(small_network, small_loaders, seed=seed, uid=None, cb=None, **config)
    assert output["epochs_run"] == 1 and 0.0 <= score <= 1.0
    assert set(output["final"]["test"]) == dataset_tasks(dataset)
    assert set(output["loss_weights"]) == dataset_tasks(dataset)  # likelihood weighting of both tasks


# ---- the paper's file: every value says where it comes from; it runs on stand-in files of the paper's shapes ----
def test_paper_values_are_tagged_and_paths_are_placeholders():
    path = CONFIGS / "paper.yaml"
    lines = list(key_lines(path, True))
    assert len(lines) > 50
    untagged = [f"{n}: {line.strip()}" for n, line in lines if not any(tag in line for tag in PAPER_TAGS)]
    assert untagged == []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        value = line.split("#")[0]
        if re.search(r"(^|[\s:\-])/\w", value):
            assert "[PLACEHOLDER]" in line, f"line {number}: a path that is not marked as a placeholder"


@pytest.fixture
def stand_in_data(tmp_path) -> dict:
    """Tiny files in the paper's formats: a 64x64 grayscale image folder and two nnvision monkey static sessions."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "tiny-imagenet" / "train"
    for class_name in ("n01443537", "n01629819", "n01641577"):
        (folder / class_name).mkdir(parents=True)
        for index in range(24):
            pixels = rng.integers(0, 256, size=(64, 64), dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / class_name / f"{class_name}_{index}.JPEG", format="JPEG")
    images = tmp_path / "images"  # nnvision's layout: the config names images/individual, the files lie in images/
    images.mkdir(parents=True)
    n_train, n_test, repeats, time_bins = 30, 4, 3, 13
    for image_id in range(1, n_train + n_test + 1):
        np.save(images / f"{image_id:06d}.npy", rng.uniform(0, 255, size=(64, 64)).astype(np.float32))
    sessions = []
    for session in (1, 2):
        n_neurons = 4 + session
        raw = {
            "subject_id": 7,
            "session_id": 3631896544452 + session,
            "training_image_ids": np.arange(1, n_train + 1),
            "testing_image_ids": np.repeat(np.arange(n_train + 1, n_train + n_test + 1), repeats),
            "unit_ids": np.arange(n_neurons) + 100 * session,
            "training_responses": rng.poisson(2.0, size=(n_neurons, time_bins, n_train)).astype(np.float32),
            "testing_responses": rng.poisson(2.0, size=(n_neurons, time_bins, n_test * repeats)).astype(np.float32),
        }
        sessions.append(tmp_path / f"session_{session}.pickle")
        sessions[-1].write_bytes(pickle.dumps(raw))
    return {"path": str(folder), "neuronal_data_files": [str(s) for s in sessions],
            "image_cache_path": str(images / "individual")}


def with_stand_in_paths(config, stand_in: dict, replaced: set):
    """The config with every placeholder path (a string under /data/) replaced by the stand-in file of its key."""
    if isinstance(config, dict):
        result = {}
        for key, value in config.items():
            values = value if isinstance(value, list) and value else [value]
            if all(isinstance(v, str) and v.startswith("/data/") for v in values):
                result[key] = stand_in[key]
                replaced.add(key)
            else:
                result[key] = with_stand_in_paths(value, stand_in, replaced)
        return result
    return config


def test_paper_configuration_builds_and_trains_on_stand_in_files(stand_in_data):
    experiment = load_experiment(CONFIGS / "paper.yaml")
    seed = experiment.seeds[0]
    replaced: set = set()
    mtl = with_stand_in_paths(experiment.datasets["mtl_monkey"].config, stand_in_data, replaced)
    assert replaced == {"path", "neuronal_data_files", "image_cache_path"}  # only the data paths are placeholders
    dataloaders = resolve_builder(experiment.datasets["mtl_monkey"].fn)(seed=seed, **mtl)
    images, labels = next(iter(dataloaders["train"]["img_classification"]))
    assert tuple(images.shape[1:]) == (1, 64, 64)
    assert set(dataloaders["train"]["neural"]) == {"3631896544453", "3631896544454"}
    neural = dataloaders["validation"]["neural"]["3631896544453"]
    assert tuple(neural.dataset.image_shape) == (3, 64, 64)  # three grey copies, as the NeurIPS-era loader gives
    order = np.random.RandomState(1000).permutation(np.arange(1, 35))  # nnvision's split of the 34 image files
    assert set(neural.dataset.trial_image_ids.tolist()) == set(order[int(34 * 0.8):].tolist()) & set(range(1, 31))

    # the paper's VGG-19 (16 convolutions, readouts after conv3_1) builds on data of the paper's shapes
    vgg = experiment.models["vgg19_bn"]
    network = resolve_builder(vgg.fn)(dataloaders, seed=seed, **vgg.config)
    convolutions = [m for m in network.core.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convolutions] == [64] * 2 + [128] * 2 + [256] * 4 + [512] * 8
    assert network.core_layers["neural"] == "block2.conv0"
    with torch.no_grad():
        assert network.eval()(images[:2], task="img_classification").shape == (2, 3)

    # both trainers run as configured (one epoch, on a small network so the test stays fast)
    small = {**vgg.config, "block_channels": [4, 8], "convs_per_block": 1, "readout_layer": 0,
             "head_hidden_features": 8}
    conditions = [(c["trainer"], c["dataset"]) for c in experiment.combinations]
    assert conditions == [("mtl", "mtl_monkey"), ("mtl", "mtl_shuffled"), ("baseline", "tinyimagenet_only"),
                          ("baseline", "tinyimagenet_noise_trained")]  # the paper's four conditions
    for trainer_label, dataset_label in conditions:
        dataset = experiment.datasets[dataset_label]
        loaders = resolve_builder(dataset.fn)(seed=seed, **with_stand_in_paths(dataset.config, stand_in_data, set()))
        model = resolve_builder(vgg.fn)(loaders, seed=seed, **small)
        trainer = experiment.trainers[trainer_label]
        config = {**trainer.config, "max_epochs": 1, "verbose": False, "device": "cpu"}
        score, output, _ = resolve_builder(trainer.fn)(model, loaders, seed=seed, uid=None, cb=None, **config)
        assert output["epochs_run"] == 1 and 0.0 <= score <= 1.0
        assert set(output["final"]["test"]) == dataset_tasks(dataset)
