"""CIFAR-10 from a local folder (--data): the first images of its python batches, read by an
unpickler that builds NumPy arrays and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ninja.settings import DataError


class CifarError(DataError):
    """--data is not a CIFAR-10 python batch folder."""


@dataclass(frozen=True)
class Cifar:
    X_train: np.ndarray  # (N, 3, 32, 32) float64
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_cifar(folder: Path, n_train: int = 500, n_test: int = 100) -> Cifar:
    """The first images of data_batch_1 and test_batch from CIFAR-10's python version. These are
    pickles: loading one runs what it says, so only a restricted unpickler that builds NumPy arrays
    and nothing else reads them (the user chose the folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CifarError(f"--data {folder}: not a folder (give the cifar-10-batches-py folder)")
    train = read_batch(folder / "data_batch_1")
    test = read_batch(folder / "test_batch")
    return Cifar(*train_slice(train, n_train), *train_slice(test, n_test))


def train_slice(batch: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    return batch["data"][:n].reshape(-1, 3, 32, 32).astype(np.float64), np.asarray(batch["labels"][:n])


ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


def read_batch(path: Path) -> dict:
    import pickle

    class ArraysOnly(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in ALLOWED_GLOBALS:
                raise CifarError(f"{path} asks to load {module}.{name}: not a CIFAR-10 batch, refused")
            return super().find_class(module, name)

    if not path.is_file():
        raise CifarError(f"--data: {path} not found (expected CIFAR-10's python batches: data_batch_1 ... test_batch)")
    try:
        with open(path, "rb") as f:
            batch = ArraysOnly(f, encoding="latin1").load()
        data, labels = batch["data"], batch["labels"]
    except CifarError:
        raise
    except Exception as e:  # noqa: BLE001 (any unreadable file is the same answer)
        raise CifarError(f"--data: cannot read {path} as a CIFAR-10 batch: {e}") from None
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072:
        raise CifarError(f"--data: {path} holds no (N, 3072) image array: not a CIFAR-10 batch")
    return {"data": data, "labels": list(labels)}
