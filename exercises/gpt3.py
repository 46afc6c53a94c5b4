"""GPT 3: backprop through causal self-attention in one go.

q, k and v are the three thirds of one projection qkv (B, T, 3C), split into two heads; each head's
scores q · kᵀ are scaled by 1/sqrt(head size), masked so that no position looks ahead, and
softmaxed into att; the heads' att · v are put side by side into atty (B, T, C). datty is given:
write dqkv as one piece of code through the weighted values, the softmax's Jacobian, the mask and
the scale, as llm.c's attention_backward does.

    ninja check gpt3     # compare with PyTorch autograd, variable by variable
    ninja hint gpt3      # a hint for the first line that is wrong
"""

from __future__ import annotations
import torch
from ninja.tapped.learner import given, tensors

# the checker picks the seed and the batch size, so these are the numbers its reference uses too
wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb, idx, targets, mask = tensors("gpt3")

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
datty = given("atty", "gpt3")

# backward pass: your code here, in this order

dqkv = None  # TODO

if __name__ == "__main__":  # `python exercises/gpt3.py` checks this file too
    from ninja.cli import main

    main(["check", "gpt3", "--file", __file__])
