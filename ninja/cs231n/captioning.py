"""CS231n assignment 3's classifiers/rnn.py: CaptioningRNN.loss(features, captions) -> (loss,
grads), with an rnn or an lstm cell. The learner's class is built at each case's sizes, the case's
parameters are put in its `params`, and the loss and every gradient are compared with autograd on
a torch captioning model holding the same parameters."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ninja.cs231n.cases import Case, Unit, rng_for
from ninja.cs231n.exercise import FunctionsExercise
from ninja.cs231n.inherit import Callee
from ninja.cs231n.layers import AFFINE
from ninja.cs231n.mistakes import Mistake
from ninja.cs231n.rnn import CALLEES, lstm_cell

NULL, START, END = 0, 1, 2
PARAMS = ("W_proj", "b_proj", "W_embed", "Wx", "Wh", "b", "W_vocab", "b_vocab")


def vocabulary(size: int) -> dict[str, int]:
    words = {"<NULL>": NULL, "<START>": START, "<END>": END}
    return words | {f"word{i}": i for i in range(3, size)}


def captions(r, n: int, steps: int, vocab: int) -> np.ndarray:
    """<START> words <END> <NULL>...: lengths differ, so the mask matters."""
    out = np.full((n, steps + 1), NULL)
    for i in range(n):
        length = int(r.integers(1, steps))
        out[i, 0], out[i, 1 : length + 1], out[i, length + 1] = START, r.integers(3, vocab, length), END
    return out


def captioning_cases(seed, cifar=None):
    r = rng_for(seed, "CaptioningRNN")
    cases = []
    for cell, n, features, wordvec, hidden, vocab, steps in (
        ("rnn", 3, 6, 4, 5, 8, 5),
        ("lstm", 3, 6, 4, 5, 8, 5),
        ("lstm", 2, 10, 3, 4, 6, 7),
        ("rnn", 4, 5, 6, 3, 10, 4),
    ):
        width = 4 * hidden if cell == "lstm" else hidden
        params = {
            "W_proj": r.standard_normal((features, hidden)) / np.sqrt(features), "b_proj": 0.1 * r.standard_normal(hidden),
            "W_embed": 0.5 * r.standard_normal((vocab, wordvec)),
            "Wx": r.standard_normal((wordvec, width)) / np.sqrt(wordvec),
            "Wh": r.standard_normal((hidden, width)) / np.sqrt(hidden), "b": 0.1 * r.standard_normal(width),
            "W_vocab": r.standard_normal((hidden, vocab)) / np.sqrt(hidden), "b_vocab": 0.1 * r.standard_normal(vocab),
        }  # fmt: skip
        config = {"cell_type": cell, "word_to_idx": vocabulary(vocab), "wordvec_dim": wordvec, "hidden_dim": hidden}
        inputs = {"features": r.standard_normal((n, features)), "captions": captions(r, n, steps, vocab), **params,
                  "config": config}  # fmt: skip
        cases.append(Case(f"{cell}, features ({n}, {features}), captions ({n}, {steps + 1}), vocab {vocab}", inputs))
    return cases


def call_captioning(cls, name, inputs):
    c = inputs["config"]
    net = cls(c["word_to_idx"], input_dim=inputs["features"].shape[1], wordvec_dim=c["wordvec_dim"],
              hidden_dim=c["hidden_dim"], cell_type=c["cell_type"], dtype=np.float64)  # fmt: skip
    for k in PARAMS:
        net.params[k] = inputs[k].copy()
    return net.loss(inputs["features"], inputs["captions"])


def captioning(t, out, mask_ignored=False, unshifted=False):
    """h0 from the features; the embedded captions but the last word in; the scores of each next
    word, a softmax loss where the word out is not <NULL>, summed over time, divided by N."""
    words_in, words_out = t["captions"][:, :-1], t["captions"][:, 1:]
    if unshifted:
        words_out = words_in
    h = t["features"] @ t["W_proj"] + t["b_proj"]
    c = torch.zeros_like(h)
    x = t["W_embed"][words_in]
    hs = []
    for step in range(x.shape[1]):
        if t["config"]["cell_type"] == "lstm":
            h, c = lstm_cell(x[:, step], h, c, t["Wx"], t["Wh"], t["b"])
        else:
            h = (x[:, step] @ t["Wx"] + h @ t["Wh"] + t["b"]).tanh()
        hs.append(h)
    scores = torch.stack(hs, 1) @ t["W_vocab"] + t["b_vocab"]
    losses = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), words_out.reshape(-1), reduction="none")
    keep = torch.ones_like(losses) if mask_ignored else (words_out.reshape(-1) != NULL).to(losses.dtype)
    return (losses * keep).sum() / words_in.shape[0]


UNITS = (
    Unit(
        "CaptioningRNN", "loss", PARAMS, captioning_cases, captioning, owner="CaptioningRNN", call=call_captioning,
        calls=(*CALLEES, Callee("layers", AFFINE)),
        mistakes=(
            Mistake("mask", "the mask ignored: words after <END> are <NULL> padding; mask = captions_out != self._null "
                    "goes to temporal_softmax_loss", {"mask_ignored": True}),
            Mistake("shift", "captions not shifted: the RNN reads captions[:, :-1] and is scored on the next words, "
                    "captions[:, 1:]", {"unshifted": True}),
        ),
    ),
)  # fmt: skip

HINTS = {
    "CaptioningRNN": (
        "features (N, D), captions (N, T + 1) integers; params W_proj (D, H), b_proj, W_embed (V, W), Wx (W, H or "
        "4H), Wh (H, H or 4H), b, W_vocab (H, V), b_vocab; loss(features, captions) returns (loss, grads).",
        "Image features become h0 through an affine layer; the words but the last are embedded and fed to the rnn "
        "or lstm; every hidden state scores the next word; padding is masked out.",
        "h0 = affine(features); x = word_embedding(captions_in); h = rnn_forward or lstm_forward(x, h0, ...); "
        "scores = temporal_affine(h); temporal_softmax_loss(scores, captions_out, mask); then each backward in "
        "reverse, dh0 into the projection's backward.",
    ),
}

EXERCISE = FunctionsExercise(
    name="captioning",
    title="CS231n CaptioningRNN: the loss and every gradient, with an rnn and with an lstm cell",
    units=UNITS,
    hints=HINTS,
)
