"""A stop request (SIGTERM / SIGINT) seen by the pipeline's training callback: checkpoint at the epoch's end, then
TrainingStopped; at once when asked twice or configured so; plain nnfabrik trainers stop at their next cb()."""

import os
import signal

import pytest

from neural_cotraining.pipeline.jobs.callback import TrainingCallback
from neural_cotraining.pipeline.jobs.stopping import StopRequest, TrainingStopped

METRICS = {"validation": {"t": {"loss": 1.0}}}


def callback(stop, saved):
    return TrainingCallback(on_checkpoint=lambda epoch, state: saved.append((epoch, state)), stop=stop)


def test_a_stop_waits_for_the_epoch_end_and_asks_for_a_checkpoint():
    stop, saved = StopRequest(), []
    cb = callback(stop, saved)
    cb(epoch=1, metrics=METRICS)
    assert not cb.wants_state()
    stop.request()
    cb()  # a heartbeat within the epoch: training goes on
    assert cb.wants_state()  # the trainer hands over its state at this epoch's end
    with pytest.raises(TrainingStopped, match="after epoch 2 \\(a checkpoint saved\\)"):
        cb(epoch=2, metrics=METRICS, state={"epoch": 2})
    assert saved == [(2, {"epoch": 2})]


def test_a_second_request_or_at_once_stops_at_the_next_call():
    for stop in (StopRequest(at_once=True), StopRequest()):
        cb = callback(stop, [])
        cb(epoch=1, metrics=METRICS)
        stop.request()
        if not stop.at_once:
            stop.request()  # the second signal
        with pytest.raises(TrainingStopped):
            cb()


def test_a_plain_heartbeat_trainer_stops_at_its_next_call():
    stop = StopRequest()
    cb = callback(stop, [])
    cb()
    stop.request()
    with pytest.raises(TrainingStopped):
        cb()


def test_signals_are_routed_to_the_request_only_while_handling():
    stop = StopRequest()
    before = signal.getsignal(signal.SIGTERM)
    with stop.handling():
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested and not stop.immediately
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.immediately
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_checkpoint_is_asked_for_once_its_time_has_come():
    import time

    saved = []
    cb = TrainingCallback(on_checkpoint=lambda epoch, state: saved.append(epoch), checkpoint_seconds=0.3)
    assert not cb.wants_state()
    time.sleep(0.35)
    assert cb.wants_state()  # the trainer passes its state at this epoch's end
    cb(epoch=1, metrics=METRICS, state={"epoch": 1})
    assert saved == [1] and not cb.wants_state()  # the clock starts again from the checkpoint
    never = TrainingCallback(on_checkpoint=lambda epoch, state: None, checkpoint_seconds=None)
    time.sleep(0.35)
    assert not never.wants_state()


def test_the_state_is_taken_an_epoch_early_rather_than_risk_more_than_the_interval():
    """The next chance to save is one epoch later: where that is past the interval, the state is asked for now, so a
    job killed at any moment loses at most one interval of (steady-length) epochs."""
    import time

    cb = TrainingCallback(on_checkpoint=lambda epoch, state: None, checkpoint_seconds=1.0)
    cb.start()
    time.sleep(0.4)  # epoch 1 ends at 0.4 s; the next end, ~0.8 s, is within the interval
    assert not cb.wants_state()
    cb(epoch=1, metrics=METRICS)
    time.sleep(0.4)  # epoch 2 ends at 0.8 s; waiting for epoch 3 (~1.2 s) would risk more than 1 s
    assert cb.wants_state()
