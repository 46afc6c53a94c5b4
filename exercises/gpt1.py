"""GPT 1: backprop through a transformer block, one line of the forward pass at a time.

A tiny character-level GPT on the names (one block: layernorm, causal self-attention with two
heads, a residual add, layernorm, an MLP with GELU, a residual add; then the final layernorm and
the language-model head tied to the token embedding), chunked into small steps as llm.c's
train_gpt2.c names them. For every intermediate and parameter X, write dX: the gradient of the loss
with respect to X, same shape as X, from the forward values and the gradients you already have.

    ninja check gpt1     # compare with PyTorch autograd, variable by variable
    ninja hint gpt1      # a hint for the first line that is wrong
"""

from __future__ import annotations
import torch
from ninja.tapped.learner import tensors

# the checker picks the seed and the batch size, so these are the numbers its reference uses too
wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb, idx, targets, mask = tensors("gpt1")

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

# backward pass: your code here, in this order

dlogits = None  # TODO
dlnf = None  # TODO
dlnfw = None  # TODO
dlnfb = None  # TODO
dlnf_norm = None  # TODO
dlnf_rstd = None  # TODO
dlnf_var = None  # TODO
dlnf_xshift = None  # TODO
dlnf_mean = None  # TODO
dresidual3 = None  # TODO
dfcproj = None  # TODO
dfcprojw = None  # TODO
dfcprojb = None  # TODO
dfch_gelu = None  # TODO
dfch = None  # TODO
dfcw = None  # TODO
dfcb = None  # TODO
dln2 = None  # TODO
dln2w = None  # TODO
dln2b = None  # TODO
dln2_norm = None  # TODO
dln2_rstd = None  # TODO
dln2_var = None  # TODO
dln2_xshift = None  # TODO
dln2_mean = None  # TODO
dresidual2 = None  # TODO
dattproj = None  # TODO
dattprojw = None  # TODO
dattprojb = None  # TODO
datty = None  # TODO
dy = None  # TODO
datt = None  # TODO
dv = None  # TODO
dpreatt = None  # TODO
dq = None  # TODO
dk = None  # TODO
dqkv = None  # TODO
dqkvw = None  # TODO
dqkvb = None  # TODO
dln1 = None  # TODO
dln1w = None  # TODO
dln1b = None  # TODO
dln1_norm = None  # TODO
dln1_rstd = None  # TODO
dln1_var = None  # TODO
dln1_xshift = None  # TODO
dln1_mean = None  # TODO
dencoded = None  # TODO
dtok_emb = None  # TODO
dpos_emb = None  # TODO
dwpe = None  # TODO
dwte = None  # TODO

if __name__ == "__main__":  # `python exercises/gpt1.py` checks this file too
    from ninja.cli import main

    main(["check", "gpt1", "--file", __file__])
