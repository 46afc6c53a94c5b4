"""CS231n classifiers/rnn.py: CaptioningRNN's loss, with an rnn or an lstm cell.

Point at your own file (ninja check captioning --file cs231n/classifiers/rnn.py): its
`from ..rnn_layers import *` finds your rnn_layers.py. This template uses the rnn.py (your
rnn_layers) next to it instead (ninja init puts both in your workspace).

    ninja check captioning
    ninja hint captioning CaptioningRNN --level 2
"""

import numpy as np

from rnn import *  # noqa: F403


class CaptioningRNN:
    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn", dtype=np.float32):
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}"')
        self.cell_type, self.dtype = cell_type, dtype
        self.word_to_idx = word_to_idx
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

    def loss(self, features, captions):
        """features (N, D), captions (N, T + 1) -> (loss, grads), grads[k] shaped like params[k]."""
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        loss, grads = None, {}  # TODO: forward through the projection, embedding, rnn/lstm, temporal affine
        return loss, grads
