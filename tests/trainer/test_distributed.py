"""One job on two processes (torch.distributed, gloo on CPU): the same validation metrics as one process with the
same global batch, exact resume, a failing rank fails the job with its error, bad options refused up front."""

import os

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from neural_cotraining.trainer import cotrainer
from neural_cotraining.trainer.distributed import RankFailedError, shard_split

from .test_resume import RecordingCallback
from .tiny_setup import TinyMultiTaskModel, flagship_dataloaders, state_dicts_equal

CONFIG = dict(max_epochs=4, patience=None, loss_weighting="likelihood", lr=0.01, verbose=False, device="cpu")
# float32 sums in another order (two half-batch means averaged instead of one batch mean): after 4 epochs the
# validation metrics differ by ~1e-7; we allow 1e-5 relative
RTOL, ATOL = 1e-5, 1e-6


def train(world_size, cb=None, **overrides):
    model = TinyMultiTaskModel(seed=0, dropout=0.0)  # dropout draws differ per process: none here
    return cotrainer(model, flagship_dataloaders(seed=0), seed=7, cb=cb, world_size=world_size,
                     **{**CONFIG, **overrides})


def assert_metrics_close(first, second):
    assert first.keys() == second.keys()
    for task in first:
        assert first[task].keys() == second[task].keys()
        for metric, value in first[task].items():
            assert second[task][metric] == pytest.approx(value, rel=RTOL, abs=ATOL), (task, metric)


def test_two_processes_give_the_validation_metrics_of_one():
    score_1, output_1, _ = train(1)
    score_2, output_2, state_2 = train(2)
    assert score_2 == pytest.approx(score_1, rel=RTOL, abs=ATOL)
    assert len(output_2["history"]) == len(output_1["history"]) == 4
    for one, two in zip(output_1["history"], output_2["history"]):
        assert_metrics_close(one["metrics"]["validation"], two["metrics"]["validation"])
        assert_metrics_close(one["metrics"]["train"], two["metrics"]["train"])  # losses averaged over the ranks
    for split in output_1["final"]:
        assert_metrics_close(output_1["final"][split], output_2["final"][split])
    assert state_2 and all(torch.isfinite(tensor).all() for tensor in state_2.values())


def test_a_resumed_two_process_job_ends_as_an_uninterrupted_one():
    uninterrupted = RecordingCallback()
    score, output, weights = train(2, cb=uninterrupted, checkpoint_every=1)
    assert uninterrupted.epochs == [1, 2, 3, 4]  # rank 0 alone reports
    resumed = RecordingCallback(resume_from=uninterrupted.states[2])
    score_resumed, output_resumed, weights_resumed = train(2, cb=resumed, checkpoint_every=1)
    assert resumed.epochs == [3, 4]
    assert state_dicts_equal(weights, weights_resumed)
    assert score_resumed == score and output_resumed["history"] == output["history"]


def test_each_rank_gets_its_slice_of_every_batch_in_the_single_process_order():
    loaders = flagship_dataloaders(seed=0)["train"]
    split = {"img_classification": {None: loaders["img_classification"]}}
    shards = [shard_split(split, rank, 2)["img_classification"][None] for rank in (0, 1)]

    def batches(loader):
        loader.generator.manual_seed(5)  # as the trainer reseeds each loader (the shards share its generator)
        return [x for x, _ in loader]

    whole = batches(loaders["img_classification"])
    halves = [batches(shard) for shard in shards]
    assert len(halves[0]) == len(halves[1]) == len(whole) == 6
    for batch, first, second in zip(whole, *halves):
        assert torch.equal(torch.cat([first, second]), batch)


def test_a_batch_that_does_not_split_evenly_is_padded_with_its_own_samples():
    from neural_cotraining.trainer.distributed import ShardedBatchSampler

    batches = [[0, 1, 2, 3], [4, 5, 6], [7]]
    slices = [list(ShardedBatchSampler(batches, rank, 2)) for rank in (0, 1)]
    assert slices == [[[0, 1], [4, 5], [7]], [[2, 3], [6, 4], [7]]]
    assert len(ShardedBatchSampler(batches, 0, 2)) == 3


class _BreakingDataset(Dataset):
    """Items 0..n-1; item ``broken`` raises, or ends its process at once when ``hard``."""

    def __init__(self, n, broken, hard=False):
        self.n, self.broken, self.hard = n, broken, hard

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if index == self.broken:
            if self.hard:
                os._exit(3)
            raise ValueError(f"broken sample {index}")
        return torch.full((1,), float(index)), torch.zeros(1)


def breaking_loaders(hard):
    # no shuffle, batches of 4: rank 1 loads items 2, 3 of the first batch
    train = DataLoader(_BreakingDataset(8, broken=3, hard=hard), batch_size=4)
    validation = DataLoader(_BreakingDataset(4, broken=-1), batch_size=4)
    return {"train": {"regression": train}, "validation": {"regression": validation}}


@pytest.mark.parametrize("hard, message", [(False, "rank 1 failed: ValueError: broken sample 3"),
                                           (True, "rank 1 died (exit code 3)")])
def test_a_failing_rank_fails_the_job_with_its_error(hard, message):
    reports = []
    with pytest.raises(RankFailedError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cotrainer(torch.nn.Linear(1, 1), breaking_loaders(hard), seed=1, world_size=2, max_epochs=2,
                  loss_functions={"regression": "mse"}, verbose=False, device="cpu",
                  cb=lambda epoch, metrics: reports.append(epoch))
    assert reports == []  # nothing reported: the first epoch never ended


@pytest.mark.parametrize("options, message", [
    ({"world_size": 0}, "world_size must be a whole number of processes, at least 1, not 0"),
    ({"world_size": -2}, "world_size must be a whole number of processes, at least 1, not -2"),
    ({"world_size": 2.5}, "world_size must be a whole number"),
    ({"world_size": 2, "backend": "carrier-pigeon"}, "backend 'carrier-pigeon' is unknown to torch.distributed"),
    ({"world_size": 2, "backend": "nccl"}, "backend 'nccl' needs CUDA devices"),
    ({"world_size": 2, "loss_weighting": "pcgrad"}, "'pcgrad' compares per-task gradients"),
])
def test_bad_distributed_options_are_refused_before_training(options, message):
    calls = []
    with pytest.raises(ValueError, match=message) as error:
        cotrainer(TinyMultiTaskModel(), flagship_dataloaders(), seed=7, cb=lambda: calls.append(1),
                  **{**CONFIG, "loss_weighting": None, **options})
    assert "\n" not in str(error.value) and calls == []


def test_more_cuda_processes_than_visible_gpus_are_refused(monkeypatch):
    from neural_cotraining.trainer.distributed import check_distributed_options

    # as on a machine with one GPU (this check runs before anything touches a device)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.distributed, "is_backend_available", lambda name: True)
    with pytest.raises(ValueError, match="world_size 2 needs 2 GPUs, but 1 are visible here"):
        check_distributed_options(2, None, "cuda")
    with pytest.raises(ValueError, match="world_size 2 needs 2 GPUs"):
        check_distributed_options(2, None, None)  # no device named: CUDA, as the trainer would choose
    assert check_distributed_options(1, None, "cuda") == (1, None)
    assert check_distributed_options(2, "gloo", "cpu") == (2, "gloo")


def test_loaders_with_worker_processes_run_on_every_rank():
    loaders = flagship_dataloaders(seed=0, extra_split=False)
    image = loaders["train"]["img_classification"]
    loaders["train"]["img_classification"] = DataLoader(image.dataset, batch_size=8, shuffle=True,
                                                        generator=image.generator, num_workers=1)
    score, output, _ = cotrainer(TinyMultiTaskModel(seed=0, dropout=0.0), loaders, seed=7, world_size=2,
                                 **{**CONFIG, "max_epochs": 1})
    assert output["epochs_run"] == 1 and score == score
