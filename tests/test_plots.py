"""The robustness figure: accuracy against noise level, a line per condition with its spread over seeds."""

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402

from neural_cotraining.demo.plots import plot_robustness_curves  # noqa: E402


def per_seed():
    return {
        "cotrain": {1: {"test accuracy": 0.99, "noise 0.1": 0.9, "noise 0.4": 0.3},
                    2: {"test accuracy": 0.97, "noise 0.1": 0.8, "noise 0.4": 0.4}},
        "image_only": {1: {"test accuracy": 0.99, "noise 0.1": 0.7, "noise 0.4": 0.2}},
        "neural_only": {1: {"neural test correlation": 0.8}},
    }


def test_robustness_figure_is_written_with_a_line_per_condition(tmp_path, monkeypatch):
    import matplotlib.axes

    drawn = []
    original = matplotlib.axes.Axes.plot

    def recording_plot(self, x, y, *args, **kwargs):
        drawn.append((kwargs.get("label"), list(x), list(y)))
        return original(self, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", recording_plot)
    path = plot_robustness_curves(per_seed(), tmp_path / "plots" / "robustness.png")
    assert path == tmp_path / "plots" / "robustness.png"
    assert matplotlib.image.imread(path).shape[2] in (3, 4)  # a real PNG
    assert [label for label, _, _ in drawn] == ["cotrain (n=2)", "image_only (n=1)"]  # neural_only: no accuracy
    _, levels, means = drawn[0]
    assert levels == [0.0, 0.1, 0.4]
    assert means == pytest.approx([0.98, 0.85, 0.35])


def test_no_figure_without_image_accuracy(tmp_path):
    assert plot_robustness_curves({"neural_only": {1: {"neural test correlation": 0.8}}}, tmp_path / "r.png") is None
    assert not (tmp_path / "r.png").exists()
