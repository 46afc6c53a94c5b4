"""Names -> examples as makemore builds them, the packaged corpus, and bad names files."""

import os
from pathlib import Path

import pytest
import torch
from conftest import needed

from ninja import makemore
from ninja.makemore import data
from ninja.settings import Settings

# makemore's own names.txt (github.com/karpathy/makemore, 32,033 names) is not in this repository: the
# test that needs it runs where NINJA_MAKEMORE_NAMES names it (.ci/run sets it), and skips elsewhere
MAKEMORE_NAMES = "NINJA_MAKEMORE_NAMES"


def test_build_dataset_like_makemore():
    X, Y = data.build_dataset(["emma"])
    assert X.tolist() == [[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1]]
    assert Y.tolist() == [5, 13, 13, 1, 0]
    assert data.VOCAB_SIZE == 27 and data.itos[0] == "." and data.stoi["z"] == 26


def test_packaged_corpus_works_offline_and_splits_80_10_10():
    words = data.read_words()
    assert len(words) > 5000 and all(w.isalpha() and w.islower() for w in words)
    sizes = {k: len(X) for k, (X, Y) in data.splits().items()}
    assert sizes["train"] > 7 * sizes["val"] and sizes["val"] > 0 and sizes["test"] > 0


def test_batches_follow_the_settings():
    with makemore.use(Settings(seed=3, batch_size=5)):
        Xb, Yb = makemore.batch()
        again, _ = makemore.batch()
    with makemore.use(Settings(seed=4, batch_size=5)):
        other, _ = makemore.batch()
    assert Xb.shape == (5, 3) and Yb.shape == (5,) and torch.equal(Xb, again) and not torch.equal(Xb, other)


def test_makemores_names_file_gives_the_notebooks_split():
    given = os.environ.get(MAKEMORE_NAMES)
    needed("makemore's names.txt", given is not None, f"set {MAKEMORE_NAMES}=path/to/makemore/names.txt to run it")
    names = Path(given)
    assert names.is_file(), f"{MAKEMORE_NAMES}={given}: no such file"
    sizes = {k: len(X) for k, (X, Y) in data.splits(names).items()}
    assert sizes == {"train": 182625, "val": 22655, "test": 22866}  # the notebook's printed shapes


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "holds 0 names"),
        ("emma\nolivia\n", "need at least 10"),
        ("emma\njosé\n" * 6, "outside a-z"),
        ("a b\n" * 12, "outside a-z"),
    ],
)
def test_bad_names_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "names.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(data.DataError, match=message):
        data.read_words(path)


def test_unreadable_names_file(tmp_path):
    with pytest.raises(data.DataError, match="cannot read"):
        data.read_words(tmp_path / "nope.txt")
