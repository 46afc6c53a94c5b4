"""CS231n assignment 3's rnn_layers.py: the vanilla RNN (a step, a sequence), word embeddings,
the temporal affine layer and softmax loss, and the LSTM (a step, a sequence), each backward
fed its own forward's cache and compared with autograd on a float64 torch forward.

Mistakes that live only in a backward (dh not carried back through time, dW not summed over
time, dprev_c dropped, dtanh from the input) are torch forwards that cut the same path: a
detached h, weights live at one step only, a tanh whose backward reads its input."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from ninja.cs231n import cases as trusted_side
from ninja.cs231n.cases import Case, OwnKind, Unit, rng_for, tensors
from ninja.cs231n.exercise import FunctionsExercise
from ninja.cs231n.inherit import Callee
from ninja.cs231n.judge import trials
from ninja.cs231n.learner import Learner, collect_case
from ninja.cs231n.mistakes import Mistake, in_place


class WrongTanh(torch.autograd.Function):
    """tanh whose backward takes a wrong derivative: "input", 1 - a**2 with a its input; "linear",
    1 - h with h its output (the square forgotten)."""

    @staticmethod
    def forward(ctx, a, derivative):
        ctx.derivative = derivative
        ctx.save_for_backward(a)
        return a.tanh()

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        local = 1 - a * a if ctx.derivative == "input" else 1 - a.tanh()
        return grad * local, None


def tanh(a, dtanh=""):
    return WrongTanh.apply(a, dtanh) if dtanh else a.tanh()


def weights(t, step, weights_once):
    """Wx, Wh, b as step `step` sees them; weights_once: live at step 0 only (dW overwritten, not summed)."""
    live = (t["Wx"], t["Wh"], t["b"])
    return live if step == 0 or not weights_once else tuple(w.detach() for w in live)


def uniform_cases(unit: str, sizes, make):
    def cases(seed, cifar=None):
        r = rng_for(seed, unit)
        return [make(r, *size) for size in sizes]

    return cases


# ---------------------------------------------------------------- vanilla RNN


def rnn_step_case(r, n, d, h):
    inputs = {
        "x": r.standard_normal((n, d)), "prev_h": r.standard_normal((n, h)),
        "Wx": 0.4 * r.standard_normal((d, h)), "Wh": 0.4 * r.standard_normal((h, h)), "b": 0.2 * r.standard_normal(h),
    }  # fmt: skip
    return Case(f"x ({n}, {d}), H {h}", inputs)


def rnn_cell(x, h, wx, wh, b, dtanh="", bias_outside=False):
    if bias_outside:
        return tanh(x @ wx + h @ wh, dtanh) + b
    return tanh(x @ wx + h @ wh + b, dtanh)


def rnn_step(t, out, dtanh="", bias_outside=False):
    return rnn_cell(t["x"], t["prev_h"], t["Wx"], t["Wh"], t["b"], dtanh, bias_outside)


def rnn_case(r, n, steps, d, h):
    inputs = {
        "x": r.standard_normal((n, steps, d)), "h0": r.standard_normal((n, h)),
        "Wx": 0.4 * r.standard_normal((d, h)), "Wh": 0.4 * r.standard_normal((h, h)), "b": 0.2 * r.standard_normal(h),
    }  # fmt: skip
    return Case(f"x ({n}, {steps}, {d}), H {h}", inputs)


def rnn_sequence(t, out, no_carry=False, weights_once=False, dtanh="", bias_outside=False, tn_order=False):
    h, hs = t["h0"], []
    for step in range(t["x"].shape[1]):
        wx, wh, b = weights(t, step, weights_once)
        prev = h.detach() if no_carry and step > 0 else h
        h = rnn_cell(t["x"][:, step], prev, wx, wh, b, dtanh, bias_outside)
        hs.append(h)
    return stacked_in_time(hs, tn_order)


def stacked_in_time(hs: list[torch.Tensor], tn_order: bool) -> torch.Tensor:
    """(N, T, H); tn_order: the steps stacked as (T, N, H) and reshaped, not transposed, to (N, T, H),
    and the upstream dh read the same way (dh.reshape(T, N, H)[t] for step t)."""
    if tn_order:
        n, h = hs[0].shape
        return torch.stack(hs, 0).reshape(n, len(hs), h)
    return torch.stack(hs, 1)


DTANH = (
    "dtanh from the input: tanh's derivative is 1 - next_h**2, from its output (1 - a**2 with a the "
    "pre-activation is something else)"
)
DTANH_LINEAR = "tanh's derivative taken as 1 - next_h: it is 1 - next_h**2 (the square of tanh's output)"
BIAS_OUTSIDE = "the bias added outside the tanh: next_h = np.tanh(x Wx + prev_h Wh + b), b inside"
TN_ORDER = (
    "the time steps read in (T, N) order: a (T, N, H) stack reshaped to (N, T, H) scrambles the steps; "
    "write h[:, t, :] at each step (or transpose(1, 0, 2)) and read dh[:, t, :]"
)
STEP_MISTAKES = (
    Mistake("dtanh", DTANH, {"dtanh": "input"}),
    Mistake("dtanh", DTANH_LINEAR, {"dtanh": "linear"}),
    Mistake("bias", BIAS_OUTSIDE, {"bias_outside": True}),
)
NO_CARRY = (
    "dh not carried back through time: at step t the gradient reaching h is dh[:, t] plus the dprev_h that "
    "step t + 1 sent back; add them before calling the step backward"
)
NOT_SUMMED = (
    "dWx, dWh, db missing the sum over time: every step uses the same weights, so add (+=) each step's "
    "gradients instead of keeping the last step's"
)
RNN_MISTAKES = (
    Mistake("carry", NO_CARRY, {"no_carry": True}),
    Mistake("sum_over_time", NOT_SUMMED, {"weights_once": True}),
    *STEP_MISTAKES,
    Mistake("time_order", TN_ORDER, {"tn_order": True}),
)

# ---------------------------------------------------------------- word embedding, temporal affine and loss


def embedding_case(r, n, steps, vocab, d):
    x = r.integers(0, vocab, (n, steps))
    repeats = ", repeated words" if len(np.unique(x)) < x.size else ""
    return Case(f"x ({n}, {steps}), W ({vocab}, {d}){repeats}", {"x": x, "W": r.standard_normal((vocab, d))})


def embedding(t, out):
    return t["W"][t["x"]]


def fancy_index_add(inputs, dout):
    """dW[x] += dout: NumPy's buffered fancy index keeps one of the rows of a repeated word."""
    if dout is None:
        return {}
    dW = np.zeros_like(inputs["W"])
    dW[inputs["x"]] += dout
    return {"dW": dW}


ADD_AT = (
    "dW[x] += dout loses repeated words: fancy-index += writes each row once, however often the word appears; "
    "np.add.at(dW, x, dout) adds every occurrence"
)


def temporal_affine_case(r, n, steps, d, m):
    inputs = {"x": r.standard_normal((n, steps, d)), "w": r.standard_normal((d, m)), "b": r.standard_normal(m)}
    return Case(f"x ({n}, {steps}, {d}), w ({d}, {m})", inputs)


def temporal_affine(t, out, no_bias=False):
    return t["x"] @ t["w"] + t["b"] * (0 if no_bias else 1)  # b stays in the graph: db is then zeros


def db_over_n_only(inputs, dout):
    return {} if dout is None else {"db": dout.sum(axis=0)}


TEMPORAL_AFFINE_MISTAKES = (
    Mistake("bias", "the bias left out: out = x @ w + b at every step", {"no_bias": True}),
    Mistake("sum", "db summed over N only: every step adds b too, so db = dout.sum(axis=(0, 1))",
            produces=db_over_n_only),
)  # fmt: skip


def temporal_loss_case(r, n, steps, vocab):
    mask = r.random((n, steps)) > 0.3
    mask[0, -1] = False  # some positions always masked out
    inputs = {"x": r.standard_normal((n, steps, vocab)), "y": r.integers(0, vocab, (n, steps)), "mask": mask}
    return Case(f"x ({n}, {steps}, {vocab}), {int(mask.sum())} of {mask.size} unmasked", inputs)


def temporal_softmax(t, out, mask_ignored=False, per_step=False):
    """CS231n's: the masked sum of cross-entropies over the N*T positions, divided by N."""
    n, steps, vocab = t["x"].shape
    losses = F.cross_entropy(t["x"].reshape(-1, vocab), t["y"].reshape(-1), reduction="none")
    mask = torch.ones_like(losses) if mask_ignored else t["mask"].reshape(-1).to(losses.dtype)
    return (losses * mask).sum() / (n * steps if per_step else n)


TEMPORAL_MISTAKES = (
    Mistake("mask", "the mask ignored: positions where mask is False (the <NULL> padding) add nothing to the loss "
            "or to dx; multiply both by the mask", {"mask_ignored": True}),
    Mistake("missing_n", "divided by N * T: CS231n's temporal softmax loss sums over time and divides by N only",
            {"per_step": True}),
)  # fmt: skip

# ---------------------------------------------------------------- LSTM

GATES = "ifog"  # CS231n's order of the four H-wide slices of the activation


def lstm_cell(x, h, c, wx, wh, b, order=GATES, cut_h_path=False):
    """cut_h_path: the cell's gradient without what flows down from next_h (dc = dnext_c only)."""
    a = dict(zip(order, (x @ wx + h @ wh + b).chunk(4, dim=1)))
    i, f, o, g = a["i"].sigmoid(), a["f"].sigmoid(), a["o"].sigmoid(), a["g"].tanh()
    c = f * c + i * g
    return o * (c.detach() if cut_h_path else c).tanh(), c


def lstm_step_case(r, n, d, h):
    inputs = {
        "x": r.standard_normal((n, d)), "prev_h": r.standard_normal((n, h)), "prev_c": r.standard_normal((n, h)),
        "Wx": 0.4 * r.standard_normal((d, 4 * h)), "Wh": 0.4 * r.standard_normal((h, 4 * h)),
        "b": 0.2 * r.standard_normal(4 * h),
    }  # fmt: skip
    return Case(f"x ({n}, {d}), H {h}", inputs)


def lstm_step(t, out, order=GATES, cut_h_path=False):
    """next_h and next_c, stacked: (2, N, H)."""
    return torch.stack(lstm_cell(t["x"], t["prev_h"], t["prev_c"], t["Wx"], t["Wh"], t["b"], order, cut_h_path))


def lstm_without_dnext_c(inputs, dout):
    """lstm_step_backward that drops dnext_c: every gradient as if next_c's upstream were zero."""
    if dout is None:
        return {}
    t = tensors(inputs, STEP_LSTM_WRT)
    upstream = torch.as_tensor(dout).clone()
    upstream[1] = 0
    grads = torch.autograd.grad(lstm_step(t, None), [t[w] for w in STEP_LSTM_WRT], upstream)
    return {f"d{w}": g.numpy() for w, g in zip(STEP_LSTM_WRT, grads, strict=True)}


def dprev_c_is_dnext_c(inputs, dout):
    return {} if dout is None else {"dprev_c": np.array(dout[1])}


STEP_LSTM_WRT = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
DC = "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c)**2)"
LSTM_STEP_MISTAKES = (
    Mistake("cell_gradient", f"the cell's gradient misses dnext_c: {DC}; without dnext_c the gradient from later "
            "steps is lost", produces=lstm_without_dnext_c),
    Mistake("cell_gradient", f"the cell's gradient misses the path from next_h: {DC}, not dnext_c alone",
            {"cut_h_path": True}),
    Mistake("cell_gradient", f"dprev_c = dnext_c: the previous cell reaches the next one through the forget gate; "
            f"dprev_c = dc * f, with {DC}", produces=dprev_c_is_dnext_c),
)  # fmt: skip


def lstm_case(r, n, steps, d, h):
    inputs = {
        "x": r.standard_normal((n, steps, d)), "h0": r.standard_normal((n, h)),
        "Wx": 0.4 * r.standard_normal((d, 4 * h)), "Wh": 0.4 * r.standard_normal((h, 4 * h)),
        "b": 0.2 * r.standard_normal(4 * h),
    }  # fmt: skip
    return Case(f"x ({n}, {steps}, {d}), H {h}", inputs)


def lstm_sequence(t, out, order=GATES, no_carry=False, no_cell_carry=False, weights_once=False, tn_order=False):
    h, hs = t["h0"], []
    c = torch.zeros_like(h)  # CS231n's lstm_forward starts the cell at zero
    for step in range(t["x"].shape[1]):
        wx, wh, b = weights(t, step, weights_once)
        prev_h = h.detach() if no_carry and step > 0 else h
        prev_c = c.detach() if no_cell_carry and step > 0 else c
        h, c = lstm_cell(t["x"][:, step], prev_h, prev_c, wx, wh, b, order)
        hs.append(h)
    return stacked_in_time(hs, tn_order)


GATE_ORDER = Mistake(
    "gate_order",
    "gates in the wrong order: CS231n slices the activation as i, f, o, g (input, forget, output, then the "
    "tanh block); PyTorch's own LSTM uses i, f, g, o",
    {"order": "ifgo"},
)
LSTM_MISTAKES = (
    GATE_ORDER,
    Mistake("cell_carry", "dprev_c from the next step dropped: at step t the cell's gradient is the dprev_c that "
            "step t + 1 sent back (start from zeros at the last step); pass it into lstm_step_backward",
            {"no_cell_carry": True}),
    Mistake("carry", NO_CARRY, {"no_carry": True}),
    Mistake("sum_over_time", NOT_SUMMED, {"weights_once": True}),
    Mistake("time_order", TN_ORDER, {"tn_order": True}),
)  # fmt: skip


def stacked_step(function, name, inputs):
    """lstm_step_forward's (next_h, next_c, cache) as (their stack, cache): one out to compare."""
    returned = function(*inputs.values())
    if not (isinstance(returned, tuple) and len(returned) == 3):
        return returned  # judged as it is: the wrong number of values
    next_h, next_c, cache = returned
    if isinstance(next_h, np.ndarray) and isinstance(next_c, np.ndarray) and next_h.shape == next_c.shape:
        return np.stack([next_h, next_c]), cache
    return (None if next_h is None or next_c is None else next_h), cache


class SplitDout:
    """The learner as collect_case sees it for an LSTM step: its backward, called as backward(dout,
    cache) with dout stacked like the forward's out, gets dnext_h and dnext_c (views: a backward
    writing into either shows as writing into dout)."""

    def __init__(self, learner: Learner, backward: str):
        self.learner, self.backward = learner, backward
        self.changed: list[str] = []  # which of dnext_h, dnext_c the last call wrote into

    def get(self, name: str):
        function = self.learner.get(name)
        if name != self.backward or function is None:
            return function

        def split(dout, cache):
            before = dout.copy()
            try:
                return function(dout[0], dout[1], cache)
            finally:
                self.changed = [n for n, a, b in zip(("dnext_h", "dnext_c"), before, dout) if not np.array_equal(a, b)]

        return split

    def call(self, *args, **kwargs):
        return self.learner.call(*args, **kwargs)


@dataclass(frozen=True)
class LstmStep(Unit, OwnKind):
    """lstm_step_forward/backward: two outputs and two upstream gradients, otherwise a layer."""

    def as_layer(self) -> Unit:
        return Unit(**{f.name: getattr(self, f.name) for f in fields(Unit)})

    def collect_case(self, learner, case: Case) -> dict:
        split = SplitDout(learner, self.backward[0])
        called = collect_case(self.as_layer(), split, case)
        if called.get("backward"):
            called["backward"][self.backward[0]]["written"] = split.changed
        return called

    def expected(self, case: Case, out, options) -> dict:
        return trusted_side.expected(self.as_layer(), case, out, options)

    def trials(self, called, case, expected, options):
        found = trials(self.as_layer(), called, case, expected, options)
        written = called.get("backward", {}).get(self.backward[0], {}).get("written")
        for trial in found if written else ():  # name the upstream gradient it wrote into, not "dout"
            for name, (kind, _) in trial.diagnosis.items():
                if kind == "in_place" and name.startswith(f"{self.backward[0]}."):
                    trial.diagnosis[name] = in_place(self.backward[0], written)
        return found


# ---------------------------------------------------------------- the exercise

STEP_WRT = ("x", "prev_h", "Wx", "Wh", "b")
SEQUENCE_WRT = ("x", "h0", "Wx", "Wh", "b")
RNN_STEP = Unit(
    "rnn_step_forward",
    "layer",
    STEP_WRT,
    uniform_cases("rnn_step", [(3, 10, 4), (4, 5, 6), (1, 3, 2)], rnn_step_case),
    rnn_step,
    backward=("rnn_step_backward",),
    mistakes=STEP_MISTAKES,
)
LSTM_STEP = LstmStep(
    "lstm_step_forward",
    "layer",
    ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
    uniform_cases("lstm_step", [(3, 4, 5), (2, 6, 3), (1, 2, 4)], lstm_step_case),
    lstm_step,
    backward=("lstm_step_backward",),
    mistakes=(GATE_ORDER, *LSTM_STEP_MISTAKES),
    owner="lstm_step_forward",
    call=stacked_step,
)
RNN = Unit(
    "rnn_forward",
    "layer",
    SEQUENCE_WRT,
    uniform_cases("rnn", [(2, 3, 4, 5), (3, 5, 2, 4), (1, 4, 3, 3)], rnn_case),
    rnn_sequence,
    backward=("rnn_backward",),
    mistakes=RNN_MISTAKES,
    calls=(Callee("rnn", RNN_STEP),),
)
LSTM = Unit(
    "lstm_forward",
    "layer",
    SEQUENCE_WRT,
    uniform_cases("lstm", [(2, 3, 5, 4), (3, 4, 2, 3), (1, 5, 3, 2)], lstm_case),
    lstm_sequence,
    backward=("lstm_backward",),
    mistakes=LSTM_MISTAKES,
    calls=(Callee("rnn", LSTM_STEP),),
)
EMBEDDING = Unit(
    "word_embedding_forward",
    "layer",
    ("W",),
    uniform_cases("embedding", [(2, 4, 5, 3), (3, 6, 4, 2), (1, 3, 10, 4)], embedding_case),
    embedding,
    backward=("word_embedding_backward",),
    mistakes=(Mistake("add_at", ADD_AT, produces=fancy_index_add),),
)
TEMPORAL_AFFINE = Unit(
    "temporal_affine_forward",
    "layer",
    ("x", "w", "b"),
    uniform_cases("temporal_affine", [(2, 3, 4, 5), (3, 1, 6, 2), (1, 4, 3, 3)], temporal_affine_case),
    temporal_affine,
    backward=("temporal_affine_backward",),
    mistakes=TEMPORAL_AFFINE_MISTAKES,
)
TEMPORAL_SOFTMAX = Unit(
    "temporal_softmax_loss",
    "loss",
    ("x",),
    uniform_cases("temporal_softmax", [(3, 4, 5), (10, 6, 8), (2, 3, 4)], temporal_loss_case),
    temporal_softmax,
    mistakes=TEMPORAL_MISTAKES,
)
UNITS = (RNN_STEP, RNN, EMBEDDING, TEMPORAL_AFFINE, TEMPORAL_SOFTMAX, LSTM_STEP, LSTM)
# what CaptioningRNN.loss calls, deepest first: a step before the sequence that runs it
CALLEES = tuple(
    Callee("rnn", u) for u in (RNN_STEP, LSTM_STEP, EMBEDDING, TEMPORAL_AFFINE, TEMPORAL_SOFTMAX, RNN, LSTM)
)

HINTS = {
    "rnn_step_forward": (
        "x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,); next_h (N, H).",
        "One step of the recurrence: a tanh of an affine function of the input and of the previous hidden state.",
        "Two matrix products (input by Wx, previous state by Wh) plus the bias, through np.tanh; cache the inputs, "
        "the weights and next_h itself (the cheapest way to tanh's derivative).",
    ),
    "rnn_step_backward": (
        "dnext_h (N, H) -> dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,).",
        "Through the tanh first (its derivative from its output), then the affine function sends the result to each "
        "of its inputs.",
        "Multiply dnext_h by one minus next_h squared; that gradient of the pre-activation goes to x and prev_h "
        "through the transposed weights, to the weights through the transposed inputs, and to b summed over N.",
    ),
    "rnn_forward": (
        "x (N, T, D), h0 (N, H); h (N, T, H): the hidden state after every step.",
        "Run rnn_step_forward T times, each step starting from the previous step's hidden state.",
        "prev_h = h0; for t in range(T): prev_h, cache_t = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b); "
        "h[:, t, :] = prev_h; keep every cache_t.",
    ),
    "rnn_backward": (
        "dh (N, T, H): the upstream gradient of every hidden state, not what flows between steps; "
        "dx (N, T, D), dh0 (N, H), dWx, dWh, db.",
        "Go backwards in time: each h_t receives dh[:, t] and the gradient the step after it sent back; the weights "
        "are shared by every step.",
        "dprev = zeros (N, H); for t from T-1 down to 0: dx[:, t], dprev, dWx_t, dWh_t, db_t = "
        "rnn_step_backward(dh[:, t] + dprev, cache[t]); add dWx_t, dWh_t, db_t into the totals; dh0 = dprev.",
    ),
    "word_embedding_forward": (
        "x (N, T) integers below V, W (V, D); out (N, T, D).",
        "Each word index picks its row of W.",
        "Index W with the integer array x (one line, no loop); cache x and W's shape.",
    ),
    "word_embedding_backward": (
        "dout (N, T, D) -> dW (V, D) only (x is integers: no gradient).",
        "Row v of dW collects the dout of every position where word v appears, however many.",
        "Start from zeros shaped like W and add every position's dout into its word's row with np.add.at (a "
        "fancy-index += counts a repeated word once).",
    ),
    "temporal_affine_forward": (
        "x (N, T, D), w (D, M), b (M,); out (N, T, M).",
        "The same affine layer applied at every time step.",
        "Reshape x to N*T rows, one matrix product with w plus b, reshape back to (N, T, M).",
    ),
    "temporal_affine_backward": (
        "dout (N, T, M) -> dx (N, T, D), dw (D, M), db (M,).",
        "An affine backward on the N*T rows at once.",
        "Flatten dout and x to N*T rows; dx is dout times w transposed (reshaped back), dw the flattened x "
        "transposed times dout, db dout summed over N and T.",
    ),
    "temporal_softmax_loss": (
        "x (N, T, V) scores, y (N, T) labels, mask (N, T) booleans; loss a float, dx (N, T, V).",
        "A softmax loss at every position the mask keeps, summed over time and averaged over the N sequences.",
        "Flatten to N*T rows; loss = -sum(mask * log probs[range, y]) / N; dx = probs minus one-hot(y), divided by "
        "N, times the mask; reshape dx to (N, T, V).",
    ),
    "lstm_step_forward": (
        "x (N, D), prev_h and prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,); next_h, next_c (N, H), cache.",
        "a = x Wx + prev_h Wh + b is four H-wide slices, in the order i, f, o, g: three sigmoid gates and the tanh "
        "candidate; the cell forgets, then adds.",
        "i, f, o: the sigmoid of a's first three slices; g: np.tanh of the fourth; the next cell keeps f of the "
        "previous one and adds i times g; next_h is o times np.tanh of the next cell.",
    ),
    "lstm_step_backward": (
        "dnext_h, dnext_c (N, H) -> dx, dprev_h, dprev_c, dWx, dWh, db.",
        "The cell gets dnext_c plus what flows down from next_h through tanh; each gate's slice of da follows from "
        "the product it sits in, through its own nonlinearity.",
        "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2); dprev_c = dc * f; di = dc * g, df = dc * prev_c, "
        "do = dnext_h * tanh(next_c), dg = dc * i; times sigmoid' (s * (1 - s)) or tanh' (1 - g**2); da is the "
        "four concatenated in i, f, o, g order; then as the RNN step: dx = da @ Wx.T, ...",
    ),
    "lstm_forward": (
        "x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,); h (N, T, H). The cell starts at zero and is "
        "not returned.",
        "lstm_step_forward T times, carrying both h and c from step to step.",
        "prev_h, prev_c = h0, zeros; for t in range(T): prev_h, prev_c, cache_t = lstm_step_forward(x[:, t], prev_h, "
        "prev_c, Wx, Wh, b); h[:, t] = prev_h.",
    ),
    "lstm_backward": (
        "dh (N, T, H) -> dx (N, T, D), dh0 (N, H), dWx, dWh, db.",
        "As rnn_backward, with a second gradient carried between steps: the cell's.",
        "dprev_h, dprev_c = zeros; for t from T-1 down to 0: dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = "
        "lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t]); sum the weight gradients; dh0 = dprev_h.",
    ),
}

EXERCISE = FunctionsExercise(
    name="rnn",
    title="CS231n rnn_layers: RNN and LSTM steps and sequences, word embedding, temporal affine and softmax loss",
    units=UNITS,
    hints=HINTS,
)
