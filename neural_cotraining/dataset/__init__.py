"""Datasets for (multi-task) training: image classification, neural responses, simulated neurons, bundles.

Contract: every builder is ``fn(seed, **config) -> dataloaders`` (nnfabrik's signature) with explicit keyword
options; an unknown config key raises ``ConfigKeyError`` (a ``ValueError``) naming the accepted keys. The seed
picks the train/validation(/test) split and seeds each shuffling loader's own ``torch.Generator``
(``loader.generator``; reseed it to replay an epoch). ``num_workers=0`` by default. This subpackage imports
neither ``models`` nor ``trainer`` nor datajoint.

Structure of the returned dict (split -> task -> loader, or -> task -> data_key -> loader)::

    {"train":      {"img_classification": DataLoader,  "neural": {"<data_key>": DataLoader, ...}},
     "validation": {"img_classification": DataLoader,  "neural": {"<data_key>": DataLoader, ...}},
     "test":       {"img_classification": DataLoader,  "neural": {"<data_key>": DataLoader, ...}},
     "robustness": {"img_classification": {"<corruption key>": DataLoader, ...}}}

Split names: ``"train"`` (shuffled; images augmented when asked), ``"validation"`` (for model selection),
``"test"``, and ``"robustness"``: corrupted copies of the image test split, keyed by
``"gaussian_noise_<std>"`` (e.g. ``"gaussian_noise_0.05"``, ``"gaussian_noise_0.1"``, ``"gaussian_noise_0.2"``,
``"gaussian_noise_0.4"``) and ``"<corruption>_<severity>"`` with ``<corruption>`` in ``gaussian_blur``,
``contrast``, ``brightness``, ``salt_and_pepper``, ``pixelate``, ``shot_noise`` and ``<severity>`` in 1..5
(ImageNet-C style, Hendrycks & Dietterich 2019). Its data_keys name corruptions, not recording sessions.

Task names: ``"img_classification"`` and ``"neural"`` (configurable). Neural data_keys are session names:
``"sim0"``, ``"sim1"``, ... for simulated sessions, the folder name for our format and FileTree folders, and
``str(session_id)`` for nnvision pickles.

Batches: image tasks give ``ImageBatch(images (N, C, H, W) float32, labels (N,) int64)`` and
``loader.dataset.n_classes``; neural tasks give ``NeuralBatch(images (N, C, H, W) float32, responses
(N, n_neurons) float32)`` and ``loader.dataset.n_neurons``, ``unit_ids`` (the recording's neuron ids; ``area`` and
``layer`` where the data has them), ``mean_response`` and, in the test split, the per-neuron ``oracle``. Neural test loaders yield all repeats of one image
per batch (``test_images_per_batch`` images), so repeat-averaged and oracle correlations can be computed.

Tabular tasks (:func:`tabular_loaders`, scikit-learn's bundled breast-cancer and diabetes data) give
``TabularBatch(inputs (N, F) float32, targets (N,) float32)``, every task on the same inputs, with
``loader.dataset.task_kind`` ("binary": targets 0/1, no ``n_classes``; or "regression"); ``tasks`` picks a subset
(:data:`TABULAR_TASKS` lists them) without changing the split.
"""

from .builders import (
    NEURAL_FORMATS,
    cotraining_loaders,
    digits_loaders,
    filetree_static_loaders,
    image_classification_loaders,
    monkey_static_loaders,
    neural_loaders,
    simulated_neural_loaders,
    tabular_loaders,
)
from .images import CORRUPTIONS, IMAGE_TASK, ROBUSTNESS_SPLIT, SEVERITIES, ImageBatch, ImageClassificationDataset
from .neural import (
    NEURAL_TASK,
    NeuralBatch,
    NeuralResponseDataset,
    NeuralSession,
    leave_one_out_oracle,
    read_session,
    read_sessions,
    true_rate_oracle,
    write_session,
)
from .simulation import simulate_sessions, write_simulated_sessions
from .tabular import TABULAR_SOURCES, TABULAR_TASKS, TabularBatch, TabularTaskDataset, tabular_task_kinds

__all__ = [
    "NEURAL_FORMATS",
    "cotraining_loaders",
    "digits_loaders",
    "filetree_static_loaders",
    "image_classification_loaders",
    "monkey_static_loaders",
    "neural_loaders",
    "simulated_neural_loaders",
    "tabular_loaders",
    "TABULAR_SOURCES",
    "TABULAR_TASKS",
    "TabularBatch",
    "TabularTaskDataset",
    "tabular_task_kinds",
    "CORRUPTIONS",
    "IMAGE_TASK",
    "ROBUSTNESS_SPLIT",
    "SEVERITIES",
    "ImageBatch",
    "ImageClassificationDataset",
    "NEURAL_TASK",
    "NeuralBatch",
    "NeuralResponseDataset",
    "NeuralSession",
    "leave_one_out_oracle",
    "read_session",
    "read_sessions",
    "true_rate_oracle",
    "write_session",
    "simulate_sessions",
    "write_simulated_sessions",
]
