"""Static-stimulus neural responses: the in-memory session, readers for our format, nnvision monkey pickles and
neuralpredictors FileTree folders, the split by image id, oracle correlations and the dataset builders."""

from .datasets import NeuralBatch, NeuralResponseDataset, RepeatGroupBatchSampler, split_trials_by_image_id
from .filetree import read_filetree_session
from .loaders import NEURAL_TASK, build_neural_loaders, filetree_static_loaders, monkey_static_loaders, neural_loaders
from .monkey_static import ImageFolder, read_monkey_static_session
from .oracle import leave_one_out_oracle, pearson_per_column, true_rate_oracle
from .own_format import read_ground_truth, read_session, read_sessions, write_session
from .session import TIERS, NeuralSession

__all__ = [
    "NeuralBatch",
    "NeuralResponseDataset",
    "RepeatGroupBatchSampler",
    "split_trials_by_image_id",
    "read_filetree_session",
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
