"""Image heads and per-session neural readouts (both readout kinds)."""

from __future__ import annotations

import pytest
import torch

from neural_cotraining.models import (
    ClassificationHead,
    FactorizedReadout,
    RegressionHead,
    SessionReadouts,
    build_readout,
)
from neural_cotraining.models.readouts import elu_plus_one, inverse_elu_plus_one

FEATURES = (6, 5, 7)  # (C, H, W) of a core layer


@pytest.mark.parametrize("hidden", [None, 9])
def test_classification_head_gives_logits_for_any_spatial_size(hidden):
    head = ClassificationHead(6, n_classes=4, hidden_features=hidden, dropout=0.1)
    for size in [(3, 3), (8, 5)]:
        assert head(torch.randn(2, 6, *size), data_key="ignored_corruption").shape == (2, 4)


def test_regression_head_shapes():
    assert RegressionHead(6, 3)(torch.randn(2, *FEATURES)).shape == (2, 3)
    assert RegressionHead(6, 1, squeeze_output=True)(torch.randn(2, *FEATURES)).shape == (2,)
    with pytest.raises(ValueError, match="n_classes"):
        ClassificationHead(6, n_classes=1)


def test_elu_plus_one_matches_elu_and_stays_positive_where_float32_elu_rounds_to_zero():
    x = torch.linspace(-15, 15, 301, requires_grad=True)
    assert torch.allclose(elu_plus_one(x), torch.nn.functional.elu(x) + 1, atol=1e-6)
    far = torch.tensor([-30.0, -80.0], requires_grad=True)
    assert (torch.nn.functional.elu(far) + 1 == 0).all()  # the naive form underflows
    out = elu_plus_one(far)
    assert (out > 0).all()
    out.sum().backward()
    assert torch.isfinite(far.grad).all() and (far.grad > 0).all()
    big = torch.tensor([200.0], requires_grad=True)  # exp(200) would overflow: the clamp keeps the gradient finite
    elu_plus_one(big).sum().backward()
    assert big.grad.item() == 1.0


def test_inverse_elu_plus_one_inverts_the_output_nonlinearity():
    rates = torch.tensor([0.01, 0.5, 1.0, 4.0])
    recovered = torch.nn.functional.elu(inverse_elu_plus_one(rates)) + 1
    assert torch.allclose(recovered, rates, atol=1e-6)


@pytest.mark.parametrize("kind", ["gaussian", "factorized"])
def test_readouts_start_at_the_given_mean_rate(kind):
    torch.manual_seed(0)
    mean_rate = torch.tensor([0.2, 1.0, 3.0])
    readout = build_readout(kind, FEATURES, 3, mean_activity=mean_rate, elu_offset=0.5)
    readouts = SessionReadouts({"s": readout}, elu_offset=0.5)
    with torch.no_grad():
        for name, parameter in readouts.named_parameters():
            if "feature" in name:
                parameter.zero_()  # with no feature drive the output is the bias alone
    out = readouts.eval()(torch.randn(2, *FEATURES), data_key="s")
    assert torch.allclose(out, mean_rate.expand(2, 3), atol=1e-5)


@pytest.mark.parametrize("kind", ["gaussian", "factorized"])
def test_session_readouts_route_shapes_and_positivity(kind):
    torch.manual_seed(0)
    readouts = SessionReadouts(
        {"a": build_readout(kind, FEATURES, 3), "b.2": build_readout(kind, FEATURES, 4)}, learn_offset=True
    )
    x = 100 * torch.randn(5, *FEATURES)  # drives some pre-activations below -17, where float32 elu + 1 is 0
    out_a, out_b = readouts(x, data_key="a"), readouts(x, data_key="b.2")
    assert out_a.shape == (5, 3) and out_b.shape == (5, 4)
    assert (out_a > 0).all() and (out_b > 0).all()
    assert readouts.n_neurons == {"a": 3, "b.2": 4}
    assert {name: p.shape for name, p in readouts.offsets.items()} == {"a": (3,), "b__2": (4,)}


@pytest.mark.parametrize("kind", ["gaussian", "factorized"])
def test_readout_regularizer_is_positive_and_differentiable(kind):
    torch.manual_seed(0)
    readouts = SessionReadouts({"a": build_readout(kind, FEATURES, 3, feature_reg_weight=0.5)})
    penalty = readouts.regularizer("a")
    assert penalty.ndim == 0 and penalty.item() > 0
    penalty.backward()
    feature_grads = [p.grad for name, p in readouts.named_parameters() if "feature" in name]
    assert feature_grads and all(g is not None and g.abs().sum() > 0 for g in feature_grads)


def test_regularizer_scales_with_its_weight():
    def penalty(weight):
        torch.manual_seed(0)
        return build_readout("gaussian", FEATURES, 3, feature_reg_weight=weight).regularizer()

    assert torch.isclose(penalty(0.2), 2 * penalty(0.1))


def test_factorized_readout_rejects_a_wrong_feature_shape():
    with pytest.raises(ValueError, match="expects features"):
        FactorizedReadout(FEATURES, 3)(torch.randn(2, 6, 4, 4))


def test_unknown_data_key_and_missing_data_key_are_reported():
    readouts = SessionReadouts({key: build_readout("factorized", FEATURES, 3) for key in ("a", "b")})
    with pytest.raises(ValueError, match=r"unknown data_key 'c'.*\['a', 'b'\]"):
        readouts(torch.randn(1, *FEATURES), data_key="c")
    with pytest.raises(ValueError, match="data_key is required"):
        readouts(torch.randn(1, *FEATURES))


def test_single_session_readout_needs_no_data_key():
    readouts = SessionReadouts({"only": build_readout("factorized", FEATURES, 2)})
    assert readouts(torch.randn(1, *FEATURES)).shape == (1, 2)


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("gaussian", {"gamma_readout": 1.0}, r"unknown readout_config keys \['gamma_readout'\].*accepted"),
        ("factorized", {"gauss_type": "full"}, r"unknown readout_config keys \['gauss_type'\]"),
        ("attention", {}, "unknown readout_type 'attention'"),
    ],
)
def test_bad_readout_config_is_rejected(kind, options, message):
    with pytest.raises(ValueError, match=message):
        build_readout(kind, FEATURES, 3, **options)
