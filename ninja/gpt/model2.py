"""The GPT with two transformer blocks, one layer a line: what gpt4 checks (every layer's backward
in one go, through the residual stream) and what gpt5 trains.

The same parameters as model.py's, one set per block (suffix _0, _1), and the same functions
written with torch's own: F.layer_norm is llm.c's layernorm (biased variance, eps 1e-5),
F.gelu(approximate="tanh") GPT-2's GELU, F.scaled_dot_product_attention(is_causal=True) the
causal attention of model.py (softmax of q kᵀ / sqrt(hs), masked, times v).
"""

from __future__ import annotations

import torch

from ninja.gpt.model import N_EMBD, block_parameters, embeddings, layernorm_parameters
from ninja.gpt.model import inputs as one_block_inputs

N_LAYER = 2


def parameters(g: torch.Generator) -> dict[str, torch.Tensor]:
    """wte, wpe, block 0's twelve (ln1w_0 ... fcprojb_0), block 1's, lnfw and lnfb."""
    params = embeddings(g, N_EMBD)
    for layer in range(N_LAYER):
        params |= block_parameters(g, N_EMBD, f"_{layer}")
    lnfw, lnfb = layernorm_parameters(g, N_EMBD)
    return params | {"lnfw": lnfw, "lnfb": lnfb}


def inputs(g: torch.Generator, batch_size: int, data=None) -> dict[str, torch.Tensor]:
    """idx and targets (batch_size, T) from the training split of the names."""
    found = one_block_inputs(g, batch_size, data)
    return {"idx": found["idx"], "targets": found["targets"]}


def forward(tap, wte, wpe, ln1w_0, ln1b_0, qkvw_0, qkvb_0, attprojw_0, attprojb_0, ln2w_0, ln2b_0, fcw_0, fcb_0,
            fcprojw_0, fcprojb_0, ln1w_1, ln1b_1, qkvw_1, qkvb_1, attprojw_1, attprojb_1, ln2w_1, ln2b_1, fcw_1,
            fcb_1, fcprojw_1, fcprojb_1, lnfw, lnfb, idx, targets):  # fmt: skip
    """The forward pass, one layer a line (llm.c's gpt2_forward)."""
    F = torch.nn.functional
    B, T = idx.shape  # batch size, sequence length
    C = wte.shape[1]  # channels: n_embd
    nh = 2  # heads
    attention = F.scaled_dot_product_attention  # softmax(q kᵀ / sqrt(hs), causal mask) v, per head
    encoded = tap("encoded", wte[idx] + wpe[:T])  # token and position embeddings: (B, T, C)
    # block 0
    ln1_0 = tap("ln1_0", F.layer_norm(encoded, (C,), ln1w_0, ln1b_0, eps=1e-5))
    qkv_0 = tap("qkv_0", ln1_0 @ qkvw_0.T + qkvb_0)  # (B, T, 3C)
    q_0, k_0, v_0 = qkv_0.view(B, T, 3, nh, C // nh).permute(2, 0, 3, 1, 4)  # each (B, nh, T, hs)
    atty_0 = tap("atty_0", attention(q_0, k_0, v_0, is_causal=True).transpose(1, 2).reshape(B, T, C))
    attproj_0 = tap("attproj_0", atty_0 @ attprojw_0.T + attprojb_0)
    residual2_0 = tap("residual2_0", encoded + attproj_0)
    ln2_0 = tap("ln2_0", F.layer_norm(residual2_0, (C,), ln2w_0, ln2b_0, eps=1e-5))
    fch_0 = tap("fch_0", ln2_0 @ fcw_0.T + fcb_0)  # (B, T, 4C)
    fch_gelu_0 = tap("fch_gelu_0", F.gelu(fch_0, approximate="tanh"))
    fcproj_0 = tap("fcproj_0", fch_gelu_0 @ fcprojw_0.T + fcprojb_0)
    residual3_0 = tap("residual3_0", residual2_0 + fcproj_0)
    # block 1
    ln1_1 = tap("ln1_1", F.layer_norm(residual3_0, (C,), ln1w_1, ln1b_1, eps=1e-5))
    qkv_1 = tap("qkv_1", ln1_1 @ qkvw_1.T + qkvb_1)
    q_1, k_1, v_1 = qkv_1.view(B, T, 3, nh, C // nh).permute(2, 0, 3, 1, 4)
    atty_1 = tap("atty_1", attention(q_1, k_1, v_1, is_causal=True).transpose(1, 2).reshape(B, T, C))
    attproj_1 = tap("attproj_1", atty_1 @ attprojw_1.T + attprojb_1)
    residual2_1 = tap("residual2_1", residual3_0 + attproj_1)
    ln2_1 = tap("ln2_1", F.layer_norm(residual2_1, (C,), ln2w_1, ln2b_1, eps=1e-5))
    fch_1 = tap("fch_1", ln2_1 @ fcw_1.T + fcb_1)
    fch_gelu_1 = tap("fch_gelu_1", F.gelu(fch_1, approximate="tanh"))
    fcproj_1 = tap("fcproj_1", fch_gelu_1 @ fcprojw_1.T + fcprojb_1)
    residual3_1 = tap("residual3_1", residual2_1 + fcproj_1)
    # the final layernorm and the language-model head, tied to the token embedding
    lnf = tap("lnf", F.layer_norm(residual3_1, (C,), lnfw, lnfb, eps=1e-5))
    logits = tap("logits", lnf @ wte.T)  # (B, T, V)
    return tap("loss", F.cross_entropy(logits.view(B * T, -1), targets.view(B * T)))


def block_backward_names(layer: int) -> tuple[str, ...]:
    s = f"_{layer}"
    names = (
        "residual3",
        "fcproj",
        "fcprojw",
        "fcprojb",
        "fch_gelu",
        "fch",
        "fcw",
        "fcb",
        "ln2",
        "ln2w",
        "ln2b",
        "residual2",
        "attproj",
        "attprojw",
        "attprojb",
        "atty",
        "qkv",
        "qkvw",
        "qkvb",
        "ln1",
        "ln1w",
        "ln1b",
    )
    return tuple(name + s for name in names)


# every tapped layer output and parameter, in the order llm.c's gpt2_backward computes them
BACKWARD = (
    "logits",
    "lnf",
    "lnfw",
    "lnfb",
    *block_backward_names(1),
    *block_backward_names(0),
    "encoded",
    "wpe",
    "wte",
)
