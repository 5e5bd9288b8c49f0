import inspect

import numpy as np
import pytest

from neural_cotraining.registry import ConfigKeyError
from neural_cotraining.dataset import (
    cotraining_loaders,
    digits_loaders,
    filetree_static_loaders,
    image_classification_loaders,
    monkey_static_loaders,
    neural_loaders,
    simulated_neural_loaders,
)
from neural_cotraining.common.seeds import derive_data_seed
from neural_cotraining.dataset._config import make_generator

BUILDERS = [
    cotraining_loaders,
    digits_loaders,
    filetree_static_loaders,
    image_classification_loaders,
    monkey_static_loaders,
    neural_loaders,
    simulated_neural_loaders,
]


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_signature_shows_explicit_keywords_with_defaults(builder):
    parameters = inspect.signature(builder).parameters
    assert list(parameters)[0] == "seed"
    options = [p for name, p in parameters.items() if name != "seed"]
    assert options and all(p.default is not inspect.Parameter.empty for p in options)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_unknown_config_key_names_the_accepted_keys(builder):
    with pytest.raises(ConfigKeyError) as error:
        builder(0, no_such_option=1)
    message = str(error.value)
    assert "no_such_option" in message and "accepted keys" in message
    assert "batch_size" in message or "image" in message


def test_seed_must_be_an_integer_but_numpy_integers_work():
    with pytest.raises(TypeError, match="seed must be an integer"):
        digits_loaders(1.5)
    with pytest.raises(TypeError, match="seed must be an integer"):
        digits_loaders(None)
    loaders = digits_loaders(np.int64(3), image_size=8, noise_levels=[], corruptions=[])
    assert set(loaders) == {"train", "validation", "test"}


def test_derived_seeds_are_stable_and_distinct_per_consumer():
    assert derive_data_seed(1, "a") == derive_data_seed(1, "a")
    assert len({derive_data_seed(1, "a"), derive_data_seed(1, "b"), derive_data_seed(2, "a")}) == 3
    first = make_generator(5, "x")
    second = make_generator(5, "x")
    assert first.initial_seed() == second.initial_seed()


def test_seed_by_keyword_and_numpy_config_values_as_a_database_returns_them():
    loaders = digits_loaders(
        seed=np.int32(2),
        image_size=np.array([10, 12]),
        batch_size=np.int64(16),
        noise_levels=np.array([0.1, 0.2]),
        corruptions=np.array(["contrast"]),
        severities=np.array([1, 2]),
    )
    images, _ = next(iter(loaders["train"]["img_classification"]))
    assert images.shape == (16, 1, 10, 12)
    assert sorted(loaders["robustness"]["img_classification"]) == [
        "contrast_1", "contrast_2", "gaussian_noise_0.1", "gaussian_noise_0.2"
    ]


def test_dataset_subpackage_imports_without_datajoint_models_or_trainer():
    import subprocess
    import sys
    from pathlib import Path

    repository = Path(__file__).resolve().parents[2]

    code = (
        "import sys\n"
        "sys.modules['datajoint'] = None\n"  # any 'import datajoint' now fails
        "import neural_cotraining.dataset\n"
        "bad = [m for m in sys.modules if m.startswith(('neural_cotraining.models', 'neural_cotraining.trainer', "
        "'neural_cotraining.pipeline', 'datajoint'))]\n"
        "assert not [m for m in bad if sys.modules[m] is not None], bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=repository)
    assert result.returncode == 0, result.stderr


def test_every_neural_builder_offers_every_loader_option():
    from neural_cotraining.dataset.neural.loaders import LOADER_OPTIONS

    for builder in (neural_loaders, monkey_static_loaders, filetree_static_loaders):
        missing = set(LOADER_OPTIONS) - set(inspect.signature(builder).parameters)
        assert not missing, (builder.__name__, missing)
