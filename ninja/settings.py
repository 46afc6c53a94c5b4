"""What a check runs at: the seed, the batch size, the data and the dtype. Shared by every track."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import torch

# torch leaves about a million objects behind, alive as long as the process: the first full
# collection would walk them all (60 ms, half of what a check costs after `import torch`)
gc.freeze()


class DataError(ValueError):
    """A data file (names, CIFAR-10) cannot be used; the message says why and where."""


@dataclass(frozen=True)
class Settings:
    seed: int = 2147483647  # the notebook's generator seed
    batch_size: int = 32
    data: Path | None = None  # one name per line; None: the packaged corpus
    # float64 by default: in float32, rounding noise amplified by batchnorm at small batch sizes
    # reaches 1e-3 of a gradient's scale, and a correct answer would fail allclose's defaults
    dtype: torch.dtype = torch.float64
