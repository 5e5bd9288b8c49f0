"""Cyclers: order, counts, len(), fresh iterators (no caching, reshuffling) and determinism per seed."""

from collections import Counter

import pytest

from neural_cotraining.trainer.cyclers import (
    ProportionalCycler,
    RatioCycler,
    RoundRobinCycler,
    build_cycler,
    parse_ratio_schedule,
)

from .tiny_setup import index_loader


def slots(cycler):
    return [(task, data_key) for task, data_key, _ in cycler]


def items_of(batches):
    return [int(value) for batch in batches for value in batch[0]]


@pytest.fixture
def flagship_loaders():
    """4 main batches; neural sessions of 2, 3 and 1 batches."""
    return {
        "img_classification": index_loader(4, offset=0),
        "neural": {
            "s1": index_loader(2, offset=100),
            "s2": index_loader(3, offset=200),
            "s3": index_loader(1, offset=300),
        },
    }


def test_ratio_two_takes_sessions_in_turn_before_each_main_batch(flagship_loaders):
    cycler = RatioCycler(flagship_loaders, seed=0, main_task="img_classification", ratio=2)
    main = ("img_classification", None)
    expected_rounds = [
        [("neural", "s1"), ("neural", "s2"), main],
        [("neural", "s3"), ("neural", "s1"), main],
        [("neural", "s2"), ("neural", "s3"), main],
        [("neural", "s1"), ("neural", "s2"), main],
    ]
    rounds = [[(task, data_key) for task, data_key, _ in one_round] for one_round in cycler.rounds()]
    assert rounds == expected_rounds
    assert len(cycler) == 12 == len(slots(cycler))


def test_ratio_below_one_gives_one_auxiliary_batch_every_one_over_k_main_batches(flagship_loaders):
    cycler = RatioCycler(flagship_loaders, seed=0, main_task="img_classification", ratio=0.5)
    rounds = [[task for task, _, _ in one_round] for one_round in cycler.rounds()]
    assert rounds == [["img_classification"], ["neural", "img_classification"]] * 2
    assert len(cycler) == 6


def test_ratio_one_third_uses_exact_arithmetic():
    loaders = {"main": index_loader(9), "aux": index_loader(5, offset=50)}
    cycler = RatioCycler(loaders, seed=0, main_task="main", ratio=1 / 3)
    tasks = [task for task, _ in slots(cycler)]
    assert Counter(tasks) == {"main": 9, "aux": 3}
    assert len(cycler) == 12


def test_ratio_schedule_changes_with_epoch_and_accepts_string_keys(flagship_loaders):
    cycler = RatioCycler(flagship_loaders, seed=0, main_task="img_classification", ratio={"0": 1, "3": 2})
    for epoch, k in ((1, 1), (2, 1), (3, 2), (7, 2)):
        cycler.set_epoch(epoch)
        counts = Counter(task for task, _ in slots(cycler))
        assert counts == {"img_classification": 4, "neural": 4 * k}
        assert len(cycler) == 4 + 4 * k


def test_ratio_main_loader_is_consumed_exactly_once_per_epoch(flagship_loaders):
    cycler = RatioCycler(flagship_loaders, seed=0, main_task="img_classification", ratio=2)
    main_items = items_of(batch for task, _, batch in cycler if task == "img_classification")
    assert sorted(main_items) == [0, 1, 2, 3]


def test_ratio_with_several_auxiliary_tasks_gives_each_k_batches():
    loaders = {"main": index_loader(3), "a": index_loader(2, offset=10), "b": index_loader(2, offset=20)}
    cycler = RatioCycler(loaders, seed=0, main_task="main", ratio=1)
    assert [task for task, _ in slots(cycler)] == ["a", "b", "main"] * 3
    assert len(cycler) == 9


@pytest.mark.parametrize("bad", [{5: 1}, {0: -1}, {"x": 1}, float("nan"), {}])
def test_bad_ratio_schedules_are_refused(bad):
    with pytest.raises(ValueError, match="ratio"):
        parse_ratio_schedule(bad)


def test_max_size_cycle_runs_until_the_longest_loader_is_exhausted():
    loaders = {"a": index_loader(3, offset=0), "b": {"x": index_loader(1, offset=10), "y": index_loader(2, offset=20)}}
    cycler = RoundRobinCycler(loaders, seed=0, mode="max_size_cycle")
    rounds = [[(task, data_key) for task, data_key, _ in one_round] for one_round in cycler.rounds()]
    assert rounds == [[("a", None), ("b", "x"), ("b", "y")]] * 3
    assert len(cycler) == 9 == sum(len(one_round) for one_round in rounds)


def test_min_size_stops_with_the_shortest_loader():
    loaders = {"a": index_loader(3), "b": index_loader(2, offset=10), "c": index_loader(5, offset=20)}
    cycler = RoundRobinCycler(loaders, seed=0, mode="min_size")
    assert slots(cycler) == [("a", None), ("b", None), ("c", None)] * 2
    assert len(cycler) == 6


def test_proportional_yields_every_batch_once_in_random_order():
    loaders = {"a": index_loader(6), "b": index_loader(3, offset=10), "c": {"x": index_loader(2, offset=20)}}
    cycler = ProportionalCycler(loaders, seed=3)
    order = slots(cycler)
    assert Counter(order) == {("a", None): 6, ("b", None): 3, ("c", "x"): 2}
    assert len(cycler) == 11
    assert order != sorted(order, key=lambda slot: ["a", "b", "c"].index(slot[0]))  # interleaved, not blocked


def test_proportional_order_is_deterministic_per_seed_and_epoch():
    def order(seed, epoch):
        cycler = ProportionalCycler({"a": index_loader(8), "b": index_loader(8, offset=10)}, seed=seed)
        cycler.set_epoch(epoch)
        return slots(cycler)

    assert order(1, 1) == order(1, 1)
    assert order(1, 1) != order(2, 1)
    assert order(1, 1) != order(1, 2)


def test_short_loader_restarts_with_fresh_reshuffled_iterators_and_rereads_items():
    short = index_loader(6, batch_size=1, shuffle=True, seed=0, offset=100)
    loaders = {"long": index_loader(24, batch_size=1, shuffle=False), "short": short}
    cycler = RoundRobinCycler(loaders, seed=0, mode="max_size_cycle")
    short_items = items_of(batch for task, _, batch in cycler if task == "short")
    passes = [short_items[start : start + 6] for start in range(0, 24, 6)]
    for one_pass in passes:
        assert sorted(one_pass) == list(range(100, 106))  # each pass is a full permutation
    assert len({tuple(one_pass) for one_pass in passes}) > 1  # reshuffled, not replayed
    assert short.dataset.reads == 24  # every batch read from the dataset again: nothing cached


def test_two_passes_restart_all_loaders_and_reshuffle():
    loader = index_loader(10, batch_size=2, shuffle=True, seed=5)
    cycler = RoundRobinCycler({"a": loader}, seed=0)
    first, second = items_of(b for _, _, b in cycler), items_of(b for _, _, b in cycler)
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second


def test_same_seeds_give_the_same_stream():
    def stream():
        loaders = {"a": index_loader(5, seed=1), "b": {"x": index_loader(7, seed=2, offset=50)}}
        cycler = build_cycler("proportional", loaders, seed=11, main_task="a")
        cycler.set_epoch(4)
        return [(task, data_key, items_of([batch])) for task, data_key, batch in cycler]

    assert stream() == stream()


def test_round_size_regroups_the_stream():
    loaders = {"main": index_loader(4), "aux": index_loader(4, offset=10)}
    cycler = RatioCycler(loaders, seed=0, main_task="main", ratio=1)
    sizes = [len(one_round) for one_round in cycler.rounds(round_size=3)]
    assert sizes == [3, 3, 2]
    with pytest.raises(ValueError, match="round_size"):
        next(cycler.rounds(round_size=0))


def test_build_cycler_refuses_unknown_names_and_misplaced_ratio():
    loaders = {"a": index_loader(2)}
    with pytest.raises(ValueError, match="unknown cycler"):
        build_cycler("zip", loaders, 0, "a")
    with pytest.raises(ValueError, match="only applies"):
        build_cycler("min_size", loaders, 0, "a", ratio=2)
    with pytest.raises(ValueError, match="main_task"):
        build_cycler("ratio", loaders, 0, "missing")
