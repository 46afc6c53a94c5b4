"""CS231n classifiers/rnn.py's CaptioningRNN: a reference solution (ninja's own), built on the
rnn.py (rnn_layers) next to it."""

import numpy as np

from rnn import *  # noqa: F403 (rnn_layers' functions, as classifiers/rnn.py's `from ..rnn_layers import *`)


class CaptioningRNN:
    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn", dtype=np.float32):
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}"')
        self.cell_type, self.dtype = cell_type, dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        vocab_size = len(word_to_idx)
        width = (4 if cell_type == "lstm" else 1) * hidden_dim
        self.params = {
            "W_embed": np.random.randn(vocab_size, wordvec_dim) / 100,
            "W_proj": np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim),
            "b_proj": np.zeros(hidden_dim),
            "Wx": np.random.randn(wordvec_dim, width) / np.sqrt(wordvec_dim),
            "Wh": np.random.randn(hidden_dim, width) / np.sqrt(hidden_dim),
            "b": np.zeros(width),
            "W_vocab": np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim),
            "b_vocab": np.zeros(vocab_size),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, features, captions):
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        p = self.params
        forward, backward = (lstm_forward, lstm_backward) if self.cell_type == "lstm" else (rnn_forward, rnn_backward)
        h0 = features @ p["W_proj"] + p["b_proj"]
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])
        h, sequence_cache = forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, sequence_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        grads["W_proj"], grads["b_proj"] = features.T @ dh0, dh0.sum(axis=0)
        return loss, grads
