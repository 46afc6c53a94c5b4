"""Names -> (context, next character) examples, exactly as makemore builds them.

Vocabulary: '.' (index 0) marks the start and end of a name, then 'a'..'z' (1..26).
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ninja.settings import DataError

BLOCK_SIZE = 3  # context length: how many characters we take to predict the next one
CHARS = "abcdefghijklmnopqrstuvwxyz"
VOCAB_SIZE = len(CHARS) + 1
stoi = {s: i + 1 for i, s in enumerate(CHARS)} | {".": 0}
itos = {i: s for s, i in stoi.items()}
PACKAGED_NAMES = Path(__file__).parent / "data" / "names.txt"
LETTERS = re.compile(r"[a-z\n]*")
CODES = np.zeros(256, dtype=np.int64)  # ASCII code -> index in the vocabulary
CODES[[ord(c) for c in CHARS]] = np.arange(1, VOCAB_SIZE)


def read_words(path: Path | None = None) -> list[str]:
    """One name per line, a-z only (case is ignored); blank lines are skipped."""
    path = Path(path) if path is not None else PACKAGED_NAMES
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read names file {path}: {e}") from None
    lines = text.splitlines()
    words = [line.strip().lower() for line in lines]
    if not LETTERS.fullmatch("\n".join(words)):  # one look at the whole file; then find the line
        for number, (line, word) in enumerate(zip(lines, words), start=1):
            if not LETTERS.fullmatch(word):
                raise DataError(
                    f"{path}:{number}: {line.strip()!r} has characters outside a-z "
                    "(the file must hold one name per line, letters only)"
                )
    words = [word for word in words if word]
    if len(words) < 10:
        raise DataError(f"{path} holds {len(words)} names: need at least 10 for the 80/10/10 split")
    return words


def build_dataset(words: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """X[i] holds BLOCK_SIZE character indices, Y[i] the character that follows them. makemore's
    loop over every character of every name, done at once (it is part of every check's start-up):
    each name padded with BLOCK_SIZE dots in front and one behind, every window of BLOCK_SIZE + 1
    characters that ends inside it."""
    padded = "".join("." * BLOCK_SIZE + w + "." for w in words).encode("ascii")
    ids = CODES[np.frombuffer(padded, dtype=np.uint8)]
    windows = np.fromiter((len(w) + 1 for w in words), dtype=np.int64, count=len(words))  # per name
    # window k of name i starts at k plus the BLOCK_SIZE dots of name i and of each name before it
    first = np.arange(windows.sum()) + BLOCK_SIZE * np.repeat(np.arange(len(words)), windows)
    X = ids[first[:, None] + np.arange(BLOCK_SIZE)]
    Y = ids[first + BLOCK_SIZE]
    return torch.from_numpy(X), torch.from_numpy(Y)


@lru_cache(maxsize=4)
def splits(path: Path | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The notebook's 80/10/10 train/dev/test split of shuffled names (random.seed(42))."""
    words = read_words(path)
    random.Random(42).shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return {
        "train": build_dataset(words[:n1]),
        "val": build_dataset(words[n1:n2]),
        "test": build_dataset(words[n2:]),
    }
