"""Names -> (context, next character) examples, exactly as makemore builds them.

Vocabulary: '.' (index 0) marks the start and end of a name, then 'a'..'z' (1..26).
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import torch

from ninja.settings import DataError

BLOCK_SIZE = 3  # context length: how many characters we take to predict the next one
CHARS = "abcdefghijklmnopqrstuvwxyz"
VOCAB_SIZE = len(CHARS) + 1
stoi = {s: i + 1 for i, s in enumerate(CHARS)} | {".": 0}
itos = {i: s for s, i in stoi.items()}
PACKAGED_NAMES = Path(__file__).parent / "data" / "names.txt"


def read_words(path: Path | None = None) -> list[str]:
    """One name per line, a-z only (case is ignored); blank lines are skipped."""
    path = Path(path) if path is not None else PACKAGED_NAMES
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read names file {path}: {e}") from None
    words = []
    for number, line in enumerate(text.splitlines(), start=1):
        word = line.strip().lower()
        if not word:
            continue
        if not all(c in stoi and c != "." for c in word):
            raise DataError(
                f"{path}:{number}: {line.strip()!r} has characters outside a-z "
                "(the file must hold one name per line, letters only)"
            )
        words.append(word)
    if len(words) < 10:
        raise DataError(f"{path} holds {len(words)} names: need at least 10 for the 80/10/10 split")
    return words


def build_dataset(words: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """X[i] holds BLOCK_SIZE character indices, Y[i] the character that follows them."""
    X, Y = [], []
    for w in words:
        context = [0] * BLOCK_SIZE
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


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
