"""Solution to GPT 1: backprop through a transformer block, one line of the forward pass at a time.

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

# backward pass

dlogits = torch.softmax(logits, -1)
dlogits.view(B * T, -1)[range(B * T), targets.view(-1)] -= 1
dlogits /= B * T
dlnf = dlogits @ wte
dlnfw = (lnf_norm * dlnf).sum((0, 1))
dlnfb = dlnf.sum((0, 1))
dlnf_norm = dlnf * lnfw
dlnf_rstd = (lnf_xshift * dlnf_norm).sum(-1, keepdim=True)
dlnf_var = -0.5 * (lnf_var + 1e-5) ** -1.5 * dlnf_rstd
dlnf_xshift = lnf_rstd * dlnf_norm + 2 * lnf_xshift / C * dlnf_var
dlnf_mean = -dlnf_xshift.sum(-1, keepdim=True)
dresidual3 = dlnf_xshift + dlnf_mean / C
dfcproj = dresidual3
dfcprojw = dfcproj.view(B * T, -1).T @ fch_gelu.view(B * T, -1)
dfcprojb = dfcproj.sum((0, 1))
dfch_gelu = dfcproj @ fcprojw
tanh_out = torch.tanh((2 / torch.pi) ** 0.5 * (fch + 0.044715 * fch**3))
dtanh_arg = (2 / torch.pi) ** 0.5 * (1 + 3 * 0.044715 * fch**2)  # the inner derivative
dfch = (0.5 * (1 + tanh_out) + 0.5 * fch * (1 - tanh_out**2) * dtanh_arg) * dfch_gelu
dfcw = dfch.view(B * T, -1).T @ ln2.view(B * T, -1)
dfcb = dfch.sum((0, 1))
dln2 = dfch @ fcw
dln2w = (ln2_norm * dln2).sum((0, 1))
dln2b = dln2.sum((0, 1))
dln2_norm = dln2 * ln2w
dln2_rstd = (ln2_xshift * dln2_norm).sum(-1, keepdim=True)
dln2_var = -0.5 * (ln2_var + 1e-5) ** -1.5 * dln2_rstd
dln2_xshift = ln2_rstd * dln2_norm + 2 * ln2_xshift / C * dln2_var
dln2_mean = -dln2_xshift.sum(-1, keepdim=True)
dresidual2 = dresidual3 + dln2_xshift + dln2_mean / C
dattproj = dresidual2
dattprojw = dattproj.view(B * T, -1).T @ atty.view(B * T, -1)
dattprojb = dattproj.sum((0, 1))
datty = dattproj @ attprojw
dy = datty.view(B, T, nh, hs).transpose(1, 2)
datt = dy @ v.transpose(-2, -1)
dv = att.transpose(-2, -1) @ dy
dpreatt = att * (datt - (att * datt).sum(-1, keepdim=True))
dq = dpreatt @ k * hs**-0.5
dk = dpreatt.transpose(-2, -1) @ q * hs**-0.5
dqkv = torch.cat([d.transpose(1, 2).reshape(B, T, C) for d in (dq, dk, dv)], dim=-1)
dqkvw = dqkv.view(B * T, -1).T @ ln1.view(B * T, -1)
dqkvb = dqkv.sum((0, 1))
dln1 = dqkv @ qkvw
dln1w = (ln1_norm * dln1).sum((0, 1))
dln1b = dln1.sum((0, 1))
dln1_norm = dln1 * ln1w
dln1_rstd = (ln1_xshift * dln1_norm).sum(-1, keepdim=True)
dln1_var = -0.5 * (ln1_var + 1e-5) ** -1.5 * dln1_rstd
dln1_xshift = ln1_rstd * dln1_norm + 2 * ln1_xshift / C * dln1_var
dln1_mean = -dln1_xshift.sum(-1, keepdim=True)
dencoded = dresidual2 + dln1_xshift + dln1_mean / C
dtok_emb = dencoded
dpos_emb = dencoded.sum(0)
dwpe = torch.zeros_like(wpe)
dwpe[:T] = dpos_emb
dwte = dlogits.view(B * T, -1).T @ lnf.view(B * T, -1)  # the language-model head's part
dwte.index_add_(0, idx.view(-1), dtok_emb.view(B * T, -1))  # and the lookup's

if __name__ == "__main__":  # `python exercises/gpt1.py` checks this file too
    from ninja.cli import main

    main(["check", "gpt1", "--file", __file__])
