"""Hints at three levels for the GPT's lines: 1 the shapes and the line that consumes the name,
2 the local derivative in words, 3 the rule in math (never the code: `ninja solution` shows that
once the exercise passes). The layers repeat (three layernorms, four linear layers, two blocks),
so their hints are made by one function per kind of layer."""

from __future__ import annotations

Hints = dict[str, tuple[str, str, str]]
BTC = "(B, T, C)"


def linear(out: str, x: str, w: str, b: str, x_shape: str, w_shape: str, out_shape: str) -> Hints:
    """out = x @ w.T + b, w is (out, in) as in nn.Linear."""
    line = f"{out} = {x} @ {w}.T + {b}"
    return {
        x: (f"{x} is {x_shape}, {w} is {w_shape}, d{out} is {out_shape}; d{x} is {x_shape}. Used in: {line}",
            "The matrix-product rule: the upstream gradient times the other factor, arranged so the shapes fit. "
            f"The forward multiplied by {w}.T, so the backward multiplies by {w} itself.",
            f"d{x} = d{out} · {w}: {out_shape} · {w_shape} = {x_shape}."),
        w: (f"{w} is {w_shape}; d{w} too. Used in: {line}, the same weight at every position of every sequence",
            f"The matrix-product rule, with the sum over all B·T positions done by the product: flatten d{out} "
            f"and {x} to rows of positions.",
            f"d{w} = d{out}ᵀ · {x}, both flattened to (B·T, ·): summed over every position, shape {w_shape}."),
        b: (f"{b} is ({w_shape.split(',')[0].strip('(')},); d{b} too. Used in: {line}, broadcast over B and T",
            "A bias: local derivative 1, broadcast over every position, so its gradient sums over them.",
            f"d{b}[j] = Σ over b, t of d{out}[b, t, j]."),
    }  # fmt: skip


def layernorm(prefix: str, x: str) -> Hints:
    """The steps of llm.c's doc/layernorm: mean, xshift, var, rstd, norm, then weight and bias (the
    output's hint is its consumer's)."""
    p, w, b = prefix, f"{prefix}w", f"{prefix}b"
    return {
        w: (f"{w} is (C,); d{w} too. Used in: {p} = {p}_norm * {w} + {b}, broadcast over B and T",
            f"The local derivative with respect to {w} is {p}_norm; {w} is the same at every position, so sum "
            "over B and T.",
            f"d{w}[c] = Σ over b, t of {p}_norm[b, t, c] · d{p}[b, t, c]."),
        b: (f"{b} is (C,); d{b} too. Used in: {p} = {p}_norm * {w} + {b}, broadcast over B and T",
            "A bias: local derivative 1, summed over every position.",
            f"d{b}[c] = Σ over b, t of d{p}[b, t, c]."),
        f"{p}_norm": (f"{p}_norm is {BTC}; d{p}_norm too. Used in: {p} = {p}_norm * {w} + {b}",
                      f"It is multiplied by {w} (one number per channel), so the local derivative is {w}.",
                      f"d{p}_norm = d{p} ⊙ {w}, {w} broadcast over B and T."),
        f"{p}_rstd": (f"{p}_rstd is (B, T, 1); d{p}_rstd too. Used in: {p}_norm = {p}_xshift * {p}_rstd, "
                      "broadcast over the C channels",
                      f"The local derivative is {p}_xshift; {p}_rstd was broadcast over the channels, so sum over "
                      "them and keep the last dim.",
                      f"d{p}_rstd[b, t] = Σ_c {p}_xshift[b, t, c] · d{p}_norm[b, t, c], shape (B, T, 1)."),
        f"{p}_var": (f"{p}_var is (B, T, 1); d{p}_var too. Used in: {p}_rstd = ({p}_var + 1e-5) ** -0.5",
                     "Power rule: d/dv (v + ε)^(-1/2) = -1/2 · (v + ε)^(-3/2).",
                     f"d{p}_var = -1/2 · ({p}_var + 1e-5)^(-3/2) ⊙ d{p}_rstd."),
        f"{p}_xshift": (f"{p}_xshift is {BTC}; d{p}_xshift too. Used in two lines: {p}_var = "
                        f"({p}_xshift**2).sum(-1, keepdim=True) / C and {p}_norm = {p}_xshift * {p}_rstd",
                        f"Two uses, two gradients to add: through {p}_norm the local derivative is {p}_rstd; "
                        f"through the variance it is 2·{p}_xshift / C, times the position's d{p}_var.",
                        f"d{p}_xshift = {p}_rstd ⊙ d{p}_norm + 2·{p}_xshift / C ⊙ d{p}_var."),
        f"{p}_mean": (f"{p}_mean is (B, T, 1); d{p}_mean too. Used in: {p}_xshift = {x} - {p}_mean, broadcast "
                      "over the channels",
                      "It is subtracted, so the local derivative is -1; broadcast over C, so sum over the channels "
                      "(the result is about zero: shifting the input does not change a layernorm).",
                      f"d{p}_mean[b, t] = -Σ_c d{p}_xshift[b, t, c], shape (B, T, 1)."),
    }  # fmt: skip


def layernorm_input(x: str, out: str, w: str, extra: str = "") -> tuple[str, str, str]:
    """d`x` where `x` goes through a layernorm (plus `extra`: the residual branch, said in words)."""
    also = f" and {extra}" if extra else ""
    add = f" Then add {extra}'s gradient: a residual add passes it on unchanged." if extra else ""
    return (f"{x} is {BTC}; d{x} too. Used in: {out} = layernorm({x}) * {w} + ... over the C channels{also}",
            "Each input reaches every output of its position three ways: directly, through the mean and through "
            "the variance (rstd). With norm and rstd from the forward and dnorm = the gradient times the weight, "
            f"the three terms share the factor rstd.{add}",
            "dx = rstd ⊙ (dnorm − mean_c(dnorm) − norm ⊙ mean_c(dnorm ⊙ norm)), means over the C channels of "
            f"each position (llm.c's layernorm_backward).{add}")  # fmt: skip


def residual_add(name: str, consumers: str, rule: str) -> tuple[str, str, str]:
    return (f"{name} is {BTC}; d{name} too. Used in: {consumers}",
            "The residual stream: several lines read it, and every one of them sends a gradient back. A residual "
            "add passes its gradient on unchanged; add them all, never overwrite one with another.",
            rule)  # fmt: skip


def gelu(x: str, out: str) -> tuple[str, str, str]:
    return (f"{x} is (B, T, 4C); d{x} too. Used in: {out} = 0.5 * {x} * (1 + tanh(sqrt(2/π) * ({x} + 0.044715 * "
            f"{x}**3))), elementwise",
            "The product rule on 0.5·x·(1 + tanh(u)), and the chain rule through tanh (its derivative is 1 − tanh²) "
            "into u = sqrt(2/π)(x + 0.044715 x³), whose derivative is not 1. The exact (erf) GELU's derivative is "
            "a different function.",
            f"d{x} = (0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·sqrt(2/π)·(1 + 3·0.044715·x²)) ⊙ d{out}.")  # fmt: skip


def attention_in_one_go(qkv: str, atty: str) -> tuple[str, str, str]:
    return (f"{qkv} is (B, T, 3C), d{atty} is {BTC}; d{qkv} is (B, T, 3C). In one formula: q, k, v are {qkv}'s "
            "three thirds split into nh heads (B, nh, T, hs); att = softmax(mask(q · kᵀ / sqrt(hs))); the heads' "
            f"outputs att · v side by side are {atty}",
            f"Walk back: d{atty} split into heads like q; through att · v to datt and dv; through the softmax (its "
            "Jacobian couples a whole row) to the scores; through the scale and q · kᵀ to dq and dk; then the heads "
            "side by side again and the three concatenated. Masked weights are 0, so nothing flows into them.",
            "Per head: datt = dy · vᵀ, dv = attᵀ · dy, dpreatt = att ⊙ (datt − Σ_row att ⊙ datt), dq = dpreatt · k / "
            "sqrt(hs), dk = dpreattᵀ · q / sqrt(hs); d" + qkv + " = [dq, dk, dv], each (B, nh, T, hs) -> (B, T, C), "
            "along the last dim.")  # fmt: skip


def cross_entropy(logits: str = "logits", lnf: str = "lnf") -> tuple[str, str, str]:
    return (f"{logits} is (B, T, V); d{logits} too. Used in: loss = cross_entropy({logits}.view(B*T, V), "
            f"targets.view(B*T)), and {logits} = {lnf} @ wte.T",
            "The loss is the mean over all B·T positions of -log softmax at the target: per position, softmax "
            "minus the target's one-hot, divided by the number of positions.",
            f"d{logits}[b, t] = (softmax({logits}[b, t]) − onehot(targets[b, t])) / (B·T).")  # fmt: skip


def head(lnf: str = "lnf", logits: str = "logits") -> tuple[str, str, str]:
    return (f"{lnf} is {BTC}, wte is (V, C), d{logits} is (B, T, V); d{lnf} is {BTC}. Used in: {logits} = {lnf} @ "
            "wte.T (the head is tied to the token embedding)",
            "The matrix-product rule: the forward multiplied by wte.T, so the backward multiplies by wte.",
            f"d{lnf} = d{logits} · wte: (B, T, V) · (V, C) = {BTC}.")  # fmt: skip


def tied_wte(dlookup: str) -> tuple[str, str, str]:
    return ("wte is (V, C); dwte too. Used twice: the lookup wte[idx] at the bottom and the language-model head "
            "logits = lnf @ wte.T at the top",
            "Two uses, two gradients to add. The head's is the matrix-product rule, summed over every position. "
            f"The lookup's: row idx[b, t] of wte was copied to position (b, t), so d{dlookup}[b, t] flows back into "
            "that row, and a character seen several times adds all of its.",
            "dwte = dlogitsᵀ · lnf (flattened over B·T) + Σ over (b, t) with idx[b, t] == c of "
            f"d{dlookup}[b, t] into row c; indexing with += loses repeats: use index_add_.")  # fmt: skip


def wpe(dsource: str, through: str) -> tuple[str, str, str]:
    return (f"wpe is (T, C); dwpe too. Used in: {through}: the same position vector for every sequence of the "
            "batch",
            f"wpe[:T] was broadcast over the B sequences, so its gradient is d{dsource}, summed over the batch "
            "(not averaged: the loss's mean is in it already).",
            f"dwpe[t] = Σ_b d{dsource}[b, t] for t < T.")  # fmt: skip


def layernorm_weights(out: str, x: str, w: str, b: str) -> Hints:
    """The weight and bias of a layernorm written in one line (F.layer_norm)."""
    line = f"{out} = F.layer_norm({x}, (C,), {w}, {b})"
    return {
        w: (f"{w} is (C,); d{w} too. Used in: {line}, the same weight at every position",
            f"The output is norm * {w} + {b}, norm = ({x} − its mean over C) · rstd: recompute norm from {x}. The "
            "weight is the same at every position, so sum over B and T.",
            f"d{w}[c] = Σ over b, t of norm[b, t, c] · d{out}[b, t, c]."),
        b: (f"{b} is (C,); d{b} too. Used in: {line}", "A bias: local derivative 1, summed over every position.",
            f"d{b}[c] = Σ over b, t of d{out}[b, t, c]."),
    }  # fmt: skip


def add_through(name: str, line: str, upstream: str) -> tuple[str, str, str]:
    return (
        f"{name} is {BTC}; d{name} too. Used in: {line}",
        "An add: the local derivative is 1, so the gradient passes through unchanged.",
        f"d{name} = d{upstream}.",
    )
