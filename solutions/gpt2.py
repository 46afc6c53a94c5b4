"""Solution to GPT 2: backprop through layernorm in one go.

The final layernorm of the GPT, lnf = (residual3 − mean) · rstd · lnfw + lnfb over the C channels of
each position, with the biased variance (divided by C) and rstd = (var + 1e-5) ** -0.5 as llm.c's
doc/layernorm writes it. dlnf is given: write dresidual3 as one formula of it (and dlnfw, dlnfb),
as llm.c's layernorm_backward does; lnf_norm and lnf_rstd from the forward make it short.

    ninja check gpt2     # compare with PyTorch autograd, variable by variable
    ninja hint gpt2      # a hint for the first line that is wrong
"""

from __future__ import annotations
import torch
from ninja.tapped.learner import given, tensors

# the checker picks the seed and the batch size, so these are the numbers its reference uses too
wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb, idx, targets, mask = tensors("gpt2")

# forward pass, one small step a line
B, T = idx.shape  # batch size, sequence length
C = wte.shape[1]  # channels: n_embd
nh = 2  # heads
hs = C // nh  # head size
# token and position embeddings
tok_emb = wte[idx]  # (B, T, C)
pos_emb = wpe[:T]  # (T, C), the same for every sequence of the batch
encoded = tok_emb + pos_emb  # (B, T, C): the residual stream starts here
# layernorm 1, over the C channels of each position (llm.c's doc/layernorm)
ln1_mean = encoded.sum(-1, keepdim=True) / C  # (B, T, 1)
ln1_xshift = encoded - ln1_mean
ln1_var = (ln1_xshift**2).sum(-1, keepdim=True) / C  # biased: divided by C
ln1_rstd = (ln1_var + 1e-5) ** -0.5
ln1_norm = ln1_xshift * ln1_rstd
ln1 = ln1_norm * ln1w + ln1b
# causal self-attention: q, k, v from one projection, split into heads
qkv = ln1 @ qkvw.T + qkvb  # (B, T, 3C)
q = qkv[:, :, :C].view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
k = qkv[:, :, C : 2 * C].view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
v = qkv[:, :, 2 * C :].view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
preatt = q @ k.transpose(-2, -1) * hs**-0.5  # (B, nh, T, T), scaled by 1/sqrt(hs)
att = torch.softmax(preatt.masked_fill(~mask, float("-inf")), dim=-1)  # no looking ahead
y = att @ v  # (B, nh, T, hs): each position's weighted values
atty = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
attproj = atty @ attprojw.T + attprojb  # output projection
residual2 = encoded + attproj  # residual add
# layernorm 2
ln2_mean = residual2.sum(-1, keepdim=True) / C
ln2_xshift = residual2 - ln2_mean
ln2_var = (ln2_xshift**2).sum(-1, keepdim=True) / C
ln2_rstd = (ln2_var + 1e-5) ** -0.5
ln2_norm = ln2_xshift * ln2_rstd
ln2 = ln2_norm * ln2w + ln2b
# MLP with GELU (GPT-2's tanh approximation)
fch = ln2 @ fcw.T + fcb  # (B, T, 4C)
fch_gelu = 0.5 * fch * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (fch + 0.044715 * fch**3)))
fcproj = fch_gelu @ fcprojw.T + fcprojb  # (B, T, C)
residual3 = residual2 + fcproj  # residual add
# final layernorm
lnf_mean = residual3.sum(-1, keepdim=True) / C
lnf_xshift = residual3 - lnf_mean
lnf_var = (lnf_xshift**2).sum(-1, keepdim=True) / C
lnf_rstd = (lnf_var + 1e-5) ** -0.5
lnf_norm = lnf_xshift * lnf_rstd
lnf = lnf_norm * lnfw + lnfb
# the language-model head is the token embedding, tied
logits = lnf @ wte.T  # (B, T, V)
loss = torch.nn.functional.cross_entropy(logits.view(B * T, -1), targets.view(B * T))

# backward pass: these gradients are given
dlnf = given("lnf", "gpt2")

# backward pass

dlnfw = (lnf_norm * dlnf).sum((0, 1))
dlnfb = dlnf.sum((0, 1))
dnorm = dlnf * lnfw
dresidual3 = lnf_rstd * (dnorm - dnorm.mean(-1, keepdim=True) - lnf_norm * (dnorm * lnf_norm).mean(-1, keepdim=True))

if __name__ == "__main__":  # `python exercises/gpt2.py` checks this file too
    from ninja.cli import main

    main(["check", "gpt2", "--file", __file__])
