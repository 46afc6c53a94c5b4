"""The names as a character-level language-modelling corpus: every name followed by '.', all of
them in one stream (".emma.olivia.ava."), cut into sequences of BLOCK_SIZE characters whose
targets are the same characters shifted by one, as nanoGPT's shakespeare_char does.

The vocabulary is makemore's: '.' is 0, 'a'..'z' are 1..26. The names file is the one the package
ships for makemore (read as a file: a track does not import another track).
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import torch

from ninja.settings import DataError

BLOCK_SIZE = 8  # the context: how many characters the model sees at once (T)
CHARS = ".abcdefghijklmnopqrstuvwxyz"
VOCAB_SIZE = len(CHARS)  # 27
stoi = {s: i for i, s in enumerate(CHARS)}
itos = dict(enumerate(CHARS))
PACKAGED_NAMES = Path(__file__).resolve().parent.parent / "makemore" / "data" / "names.txt"


def read_names(path: Path | None = None) -> list[str]:
    """One name per line, letters a-z only (case ignored, blank lines skipped)."""
    path = Path(path) if path is not None else PACKAGED_NAMES
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read names file {path}: {e}") from None
    names = []
    for number, line in enumerate(lines, start=1):
        name = line.strip().lower()
        if name and not (name.isascii() and name.isalpha()):
            raise DataError(f"{path}:{number}: {line.strip()!r} has characters outside a-z "
                            "(the file must hold one name per line, letters only)")  # fmt: skip
        if name:
            names.append(name)
    if len(names) < 10:
        raise DataError(f"{path} holds {len(names)} names: need at least 10 for the 90/10 split")
    return names


def encode(text: str) -> torch.Tensor:
    return torch.tensor([stoi[c] for c in text], dtype=torch.long)


def decode(ids) -> str:
    return "".join(itos[int(i)] for i in ids)


@lru_cache(maxsize=4)
def splits(path: Path | None = None) -> dict[str, torch.Tensor]:
    """The shuffled names (random.seed(42), as makemore) split 90/10 into two streams of ids."""
    names = read_names(path)
    random.Random(42).shuffle(names)
    n = int(0.9 * len(names))
    return {"train": encode("." + ".".join(names[:n]) + "."), "val": encode("." + ".".join(names[n:]) + ".")}


def batch(stream: torch.Tensor, g: torch.Generator, batch_size: int, block_size: int = BLOCK_SIZE):
    """(idx, targets), both (batch_size, block_size): windows of the stream at random offsets, the
    targets one character ahead."""
    ix = torch.randint(0, len(stream) - block_size, (batch_size,), generator=g)
    offsets = ix[:, None] + torch.arange(block_size)
    return stream[offsets], stream[offsets + 1]
