"""A tiny character-level GPT with one transformer block, as a tapped model: its parameters, a
batch of sequences, and the trusted forward pass one small step a line (gpt1, gpt2, gpt3).

The names are llm.c's (train_gpt2.c's ParameterTensors and ActivationTensors), with layernorm's
steps as its doc/layernorm writes them; weights are (out, in) as in nn.Linear, so a linear layer
is `x @ w.T + b`. Sizes are small so that a check takes about a second on a laptop's CPU.
"""

from __future__ import annotations

import torch

from ninja.gpt import data as corpus

N_EMBD = 16  # C: the width of the residual stream
N_HEAD = 2  # heads of 8 channels each
BLOCK_SIZE = corpus.BLOCK_SIZE  # T: the context, 8 characters
VOCAB_SIZE = corpus.VOCAB_SIZE  # V: 27


def linear(g: torch.Generator, fan_out: int, fan_in: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A weight (fan_out, fan_in) at unit gain and a bias (fan_out,): larger than GPT-2's 0.02, so
    that attention is not uniform and a wrong gradient cannot hide behind small numbers."""
    return torch.randn((fan_out, fan_in), generator=g) / fan_in**0.5, torch.randn(fan_out, generator=g) * 0.1


def layernorm_parameters(g: torch.Generator, C: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight near 1 and the bias near 0, but not exactly: an identity hides mistakes."""
    return 1 + 0.1 * torch.randn(C, generator=g), 0.1 * torch.randn(C, generator=g)


def block_parameters(g: torch.Generator, C: int, suffix: str = "") -> dict[str, torch.Tensor]:
    """One transformer block's parameters, llm.c's names (with `suffix`: a layer's number)."""
    names = ("ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb", "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb")
    tensors = (*layernorm_parameters(g, C), *linear(g, 3 * C, C), *linear(g, C, C), *layernorm_parameters(g, C),
               *linear(g, 4 * C, C), *linear(g, C, 4 * C))  # fmt: skip
    return {name + suffix: t for name, t in zip(names, tensors, strict=True)}


def embeddings(g: torch.Generator, C: int) -> dict[str, torch.Tensor]:
    """The token embedding (V, C), also the language-model head, and the position embedding (T, C)."""
    wte = 0.3 * torch.randn((VOCAB_SIZE, C), generator=g)
    return {"wte": wte, "wpe": 0.3 * torch.randn((BLOCK_SIZE, C), generator=g)}


def parameters(g: torch.Generator) -> dict[str, torch.Tensor]:
    """wte, wpe, one block's twelve, lnfw and lnfb."""
    lnfw, lnfb = layernorm_parameters(g, N_EMBD)
    return embeddings(g, N_EMBD) | block_parameters(g, N_EMBD) | {"lnfw": lnfw, "lnfb": lnfb}


def inputs(g: torch.Generator, batch_size: int, data=None) -> dict[str, torch.Tensor]:
    """idx and targets (batch_size, T) from the training split of the names (`data`: a names file,
    None for the packaged one), and the causal mask (T, T): True where a position may look."""
    idx, targets = corpus.batch(corpus.splits(data)["train"], g, batch_size)
    return {"idx": idx, "targets": targets, "mask": torch.tril(torch.ones(BLOCK_SIZE, BLOCK_SIZE, dtype=torch.bool))}


def forward(tap, wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb,
            lnfw, lnfb, idx, targets, mask):  # fmt: skip
    """The GPT's forward pass, one small step a line. `tap(name, t)` sees every intermediate and
    returns the tensor to go on with."""
    B, T = idx.shape  # batch size, sequence length
    C = wte.shape[1]  # channels: n_embd
    nh = 2  # heads
    hs = C // nh  # head size
    # token and position embeddings
    tok_emb = tap("tok_emb", wte[idx])  # (B, T, C)
    pos_emb = tap("pos_emb", wpe[:T])  # (T, C), the same for every sequence of the batch
    encoded = tap("encoded", tok_emb + pos_emb)  # (B, T, C): the residual stream starts here
    # layernorm 1, over the C channels of each position (llm.c's doc/layernorm)
    ln1_mean = tap("ln1_mean", encoded.sum(-1, keepdim=True) / C)  # (B, T, 1)
    ln1_xshift = tap("ln1_xshift", encoded - ln1_mean)
    ln1_var = tap("ln1_var", (ln1_xshift**2).sum(-1, keepdim=True) / C)  # biased: divided by C
    ln1_rstd = tap("ln1_rstd", (ln1_var + 1e-5) ** -0.5)
    ln1_norm = tap("ln1_norm", ln1_xshift * ln1_rstd)
    ln1 = tap("ln1", ln1_norm * ln1w + ln1b)
    # causal self-attention: q, k, v from one projection, split into heads
    qkv = tap("qkv", ln1 @ qkvw.T + qkvb)  # (B, T, 3C)
    q = tap("q", qkv[:, :, :C].view(B, T, nh, hs).transpose(1, 2))  # (B, nh, T, hs)
    k = tap("k", qkv[:, :, C : 2 * C].view(B, T, nh, hs).transpose(1, 2))  # (B, nh, T, hs)
    v = tap("v", qkv[:, :, 2 * C :].view(B, T, nh, hs).transpose(1, 2))  # (B, nh, T, hs)
    preatt = tap("preatt", q @ k.transpose(-2, -1) * hs**-0.5)  # (B, nh, T, T), scaled by 1/sqrt(hs)
    att = tap("att", torch.softmax(preatt.masked_fill(~mask, float("-inf")), dim=-1))  # no looking ahead
    y = tap("y", att @ v)  # (B, nh, T, hs): each position's weighted values
    atty = tap("atty", y.transpose(1, 2).reshape(B, T, C))  # the heads side by side again
    attproj = tap("attproj", atty @ attprojw.T + attprojb)  # output projection
    residual2 = tap("residual2", encoded + attproj)  # residual add
    # layernorm 2
    ln2_mean = tap("ln2_mean", residual2.sum(-1, keepdim=True) / C)
    ln2_xshift = tap("ln2_xshift", residual2 - ln2_mean)
    ln2_var = tap("ln2_var", (ln2_xshift**2).sum(-1, keepdim=True) / C)
    ln2_rstd = tap("ln2_rstd", (ln2_var + 1e-5) ** -0.5)
    ln2_norm = tap("ln2_norm", ln2_xshift * ln2_rstd)
    ln2 = tap("ln2", ln2_norm * ln2w + ln2b)
    # MLP with GELU (GPT-2's tanh approximation)
    fch = tap("fch", ln2 @ fcw.T + fcb)  # (B, T, 4C)
    fch_gelu = tap("fch_gelu", 0.5 * fch * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (fch + 0.044715 * fch**3))))
    fcproj = tap("fcproj", fch_gelu @ fcprojw.T + fcprojb)  # (B, T, C)
    residual3 = tap("residual3", residual2 + fcproj)  # residual add
    # final layernorm
    lnf_mean = tap("lnf_mean", residual3.sum(-1, keepdim=True) / C)
    lnf_xshift = tap("lnf_xshift", residual3 - lnf_mean)
    lnf_var = tap("lnf_var", (lnf_xshift**2).sum(-1, keepdim=True) / C)
    lnf_rstd = tap("lnf_rstd", (lnf_var + 1e-5) ** -0.5)
    lnf_norm = tap("lnf_norm", lnf_xshift * lnf_rstd)
    lnf = tap("lnf", lnf_norm * lnfw + lnfb)
    # the language-model head is the token embedding, tied
    logits = tap("logits", lnf @ wte.T)  # (B, T, V)
    return tap("loss", torch.nn.functional.cross_entropy(logits.view(B * T, -1), targets.view(B * T)))


LAYERNORM = ("mean", "xshift", "var", "rstd", "norm")


def layernorm_names(prefix: str) -> tuple[str, ...]:
    """A layernorm's output, its weight and bias, then its steps, in backward order."""
    return (prefix, f"{prefix}w", f"{prefix}b", *(f"{prefix}_{step}" for step in reversed(LAYERNORM)))


# every tapped intermediate and parameter, in the order a backward pass computes their gradients
BACKWARD = (
    "logits", *layernorm_names("lnf"), "residual3", "fcproj", "fcprojw", "fcprojb", "fch_gelu", "fch", "fcw", "fcb",
    *layernorm_names("ln2"), "residual2", "attproj", "attprojw", "attprojb", "atty", "y", "att", "v", "preatt",
    "q", "k", "qkv", "qkvw", "qkvb", *layernorm_names("ln1"), "encoded", "tok_emb", "pos_emb", "wpe", "wte",
)  # fmt: skip
