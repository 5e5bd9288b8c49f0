"""Static-stimulus neural responses: the in-memory session, readers for our format, nnvision monkey pickles and
neuralpredictors FileTree folders, the split by image id (ours, the file's tiers or nnvision's), nnvision's image
statistics, oracle correlations and the dataset builders. Every session names its neurons by unit id."""

from .datasets import (
    NeuralBatch,
    NeuralResponseDataset,
    RepeatGroupBatchSampler,
    nnvision_validation_split,
    split_trials_by_image_id,
)
from .filetree import nnvision_data_key, read_filetree_session
from .folder_statistics import folder_statistics
from .loaders import NEURAL_TASK, build_neural_loaders, filetree_static_loaders, monkey_static_loaders, neural_loaders
from .monkey_static import ImageFolder, image_folder_path, read_monkey_static_session
from .safe_pickle import UnsafePickleError, load_plain_pickle
from .oracle import leave_one_out_oracle, pearson_per_column, true_rate_oracle
from .own_format import read_ground_truth, read_session, read_sessions, write_session
from .session import TIERS, NeuralSession

__all__ = [
    "NeuralBatch",
    "NeuralResponseDataset",
    "RepeatGroupBatchSampler",
    "nnvision_validation_split",
    "split_trials_by_image_id",
    "nnvision_data_key",
    "read_filetree_session",
    "folder_statistics",
    "UnsafePickleError",
    "load_plain_pickle",
    "image_folder_path",
    "NEURAL_TASK",
    "build_neural_loaders",
    "filetree_static_loaders",
    "monkey_static_loaders",
    "neural_loaders",
    "ImageFolder",
    "read_monkey_static_session",
    "leave_one_out_oracle",
    "pearson_per_column",
    "true_rate_oracle",
    "read_ground_truth",
    "read_session",
    "read_sessions",
    "write_session",
    "TIERS",
    "NeuralSession",
]
