"""Datasets: official files, tensorflow-datasets, and synthetic federated data."""

from tff_course.data.dataset import Dataset, Modality, Split
from tff_course.data.locate import DATA_DIR_ENV, resolve_data_dir
from tff_course.data.registry import (DatasetInfo, dataset_info, dataset_infos,
                                      dataset_options, load_dataset)
from tff_course.data.synthetic import fedprox_synthetic
from tff_course.data.toy import toy_classification

__all__ = [
    "DATA_DIR_ENV", "Dataset", "DatasetInfo", "Modality", "Split", "dataset_info",
    "dataset_infos", "dataset_options", "fedprox_synthetic", "load_dataset",
    "resolve_data_dir", "toy_classification",
]
