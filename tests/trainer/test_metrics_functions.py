"""Metric formulas against scikit-learn / SciPy (the reference implementations, used in tests only)."""

import numpy as np
import pytest
import torch
from scipy.stats import rankdata
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from neural_cotraining.trainer.metric_functions import (
    average_ranks,
    binary_auc,
    confusion_matrix,
    macro_precision_recall_f1,
    precision_recall_f1,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_average_ranks_share_the_mean_rank_of_ties(rng):
    values = rng.integers(0, 5, size=40).astype(np.float32)  # many ties
    assert average_ranks(torch.from_numpy(values)).numpy() == pytest.approx(rankdata(values))


@pytest.mark.parametrize("n_levels", [3, 1000])  # heavy ties, almost none
def test_binary_auc_matches_sklearn(rng, n_levels):
    labels = rng.random(200) < 0.3
    scores = np.round(labels * 0.8 + rng.normal(size=200), 0 if n_levels == 3 else 3).astype(np.float32)
    auc = binary_auc(torch.from_numpy(scores), torch.from_numpy(labels))
    assert auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_binary_auc_edge_cases():
    assert binary_auc(torch.tensor([0.1, 0.9, 0.5]), torch.tensor([False, True, False])) == 1.0
    assert binary_auc(torch.tensor([0.9, 0.1]), torch.tensor([False, True])) == 0.0
    assert binary_auc(torch.tensor([0.3, 0.3, 0.3]), torch.tensor([True, False, True])) == 0.5  # all tied
    assert np.isnan(binary_auc(torch.tensor([0.1, 0.2]), torch.tensor([True, True])))  # one class only


@pytest.mark.parametrize("case", ["random", "no_predicted_positive", "no_actual_positive"])
def test_binary_precision_recall_f1_match_sklearn(rng, case):
    truth = rng.random(50) < 0.4
    predicted = rng.random(50) < 0.5
    if case == "no_predicted_positive":
        predicted[:] = False
    if case == "no_actual_positive":
        truth[:] = False
    tp, fp, fn = (int(np.sum(a & b)) for a, b in ((predicted, truth), (predicted, ~truth), (~predicted, truth)))
    ours = [float(value) for value in precision_recall_f1(tp, fp, fn)]
    reference = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)[:3]
    assert ours == pytest.approx(list(reference), abs=1e-12)


def test_macro_precision_recall_f1_match_sklearn_with_absent_and_never_predicted_classes(rng):
    n_classes = 6
    truth = rng.choice([0, 1, 2, 4], size=80)  # classes 3 and 5 never occur as targets
    predicted = np.where(rng.random(80) < 0.6, truth, rng.choice([0, 1, 3], size=80))  # 3 only predicted, 2/4 rarely
    confusion = confusion_matrix(torch.from_numpy(truth), torch.from_numpy(predicted), n_classes)
    assert confusion.shape == (n_classes, n_classes) and int(confusion.sum()) == 80
    ours = macro_precision_recall_f1(confusion)
    reference = precision_recall_fscore_support(truth, predicted, average="macro", zero_division=0)[:3]
    assert list(ours) == pytest.approx(list(reference), abs=1e-12)
