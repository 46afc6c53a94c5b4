"""Solution to GPT 4: backprop through the whole GPT, one layer in one go at a time.

The GPT with two blocks, written one layer a line as llm.c's gpt2_forward is (F.layer_norm,
attention, F.gelu with GPT-2's tanh form): write each layer's backward in one go, as llm.c's
gpt2_backward does, from the cross-entropy at the top down the residual stream to the tied token
embedding. Every layer output and every parameter is checked, so a wrong layer is found even where
the residual stream carries its error down into the blocks below.

    ninja check gpt4     # compare with PyTorch autograd, variable by variable
    ninja hint gpt4      # a hint for the first line that is wrong
"""

from __future__ import annotations
import torch
from ninja.tapped.learner import tensors

# the checker picks the seed and the batch size, so these are the numbers its reference uses too
wte, wpe, ln1w_0, ln1b_0, qkvw_0, qkvb_0, attprojw_0, attprojb_0, ln2w_0, ln2b_0, fcw_0, fcb_0, fcprojw_0, fcprojb_0, ln1w_1, ln1b_1, qkvw_1, qkvb_1, attprojw_1, attprojb_1, ln2w_1, ln2b_1, fcw_1, fcb_1, fcprojw_1, fcprojb_1, lnfw, lnfb, idx, targets = tensors("gpt4")

# forward pass, one small step a line
F = torch.nn.functional
B, T = idx.shape  # batch size, sequence length
C = wte.shape[1]  # channels: n_embd
nh = 2  # heads
attention = F.scaled_dot_product_attention  # softmax(q kᵀ / sqrt(hs), causal mask) v, per head
encoded = wte[idx] + wpe[:T]  # token and position embeddings: (B, T, C)
# block 0
ln1_0 = F.layer_norm(encoded, (C,), ln1w_0, ln1b_0, eps=1e-5)
qkv_0 = ln1_0 @ qkvw_0.T + qkvb_0  # (B, T, 3C)
q_0, k_0, v_0 = qkv_0.view(B, T, 3, nh, C // nh).permute(2, 0, 3, 1, 4)  # each (B, nh, T, hs)
atty_0 = attention(q_0, k_0, v_0, is_causal=True).transpose(1, 2).reshape(B, T, C)
attproj_0 = atty_0 @ attprojw_0.T + attprojb_0
residual2_0 = encoded + attproj_0
ln2_0 = F.layer_norm(residual2_0, (C,), ln2w_0, ln2b_0, eps=1e-5)
fch_0 = ln2_0 @ fcw_0.T + fcb_0  # (B, T, 4C)
fch_gelu_0 = F.gelu(fch_0, approximate="tanh")
fcproj_0 = fch_gelu_0 @ fcprojw_0.T + fcprojb_0
residual3_0 = residual2_0 + fcproj_0
# block 1
ln1_1 = F.layer_norm(residual3_0, (C,), ln1w_1, ln1b_1, eps=1e-5)
qkv_1 = ln1_1 @ qkvw_1.T + qkvb_1
q_1, k_1, v_1 = qkv_1.view(B, T, 3, nh, C // nh).permute(2, 0, 3, 1, 4)
atty_1 = attention(q_1, k_1, v_1, is_causal=True).transpose(1, 2).reshape(B, T, C)
attproj_1 = atty_1 @ attprojw_1.T + attprojb_1
residual2_1 = residual3_0 + attproj_1
ln2_1 = F.layer_norm(residual2_1, (C,), ln2w_1, ln2b_1, eps=1e-5)
fch_1 = ln2_1 @ fcw_1.T + fcb_1
fch_gelu_1 = F.gelu(fch_1, approximate="tanh")
fcproj_1 = fch_gelu_1 @ fcprojw_1.T + fcprojb_1
residual3_1 = residual2_1 + fcproj_1
# the final layernorm and the language-model head, tied to the token embedding
lnf = F.layer_norm(residual3_1, (C,), lnfw, lnfb, eps=1e-5)
logits = lnf @ wte.T  # (B, T, V)
loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))

# backward pass

def linear_backward(dout, inp, w):
    """out = inp @ w.T + b: (dinp, dw, db), summed over every position."""
    return dout @ w, dout.reshape(-1, dout.shape[-1]).T @ inp.reshape(-1, inp.shape[-1]), dout.sum((0, 1))


def layernorm_backward(dout, inp, w):
    """out = layernorm(inp) * w + b over the last dim: (dinp, dw, db), as llm.c's layernorm_backward."""
    var, mean = torch.var_mean(inp, -1, keepdim=True, unbiased=False)  # over C, biased, as the forward
    rstd = torch.rsqrt(var + 1e-5)
    norm = (inp - mean) * rstd
    dnorm = dout * w
    dinp = rstd * (dnorm - dnorm.mean(-1, keepdim=True) - norm * (dnorm * norm).mean(-1, keepdim=True))
    return dinp, (dout * norm).sum((0, 1)), dout.sum((0, 1))


def gelu_backward(dout, inp):
    square = inp * inp
    tanh_out = torch.tanh((2 / torch.pi) ** 0.5 * inp * (1 + 0.044715 * square))
    dtanh_arg = (2 / torch.pi) ** 0.5 * (1 + 3 * 0.044715 * square)
    return (0.5 * (1 + tanh_out) + 0.5 * inp * (1 - tanh_out * tanh_out) * dtanh_arg) * dout


def attention_backward(datty, q, k, v):
    """dqkv from the gradient of the heads side by side, q, k, v (B, nh, T, hs)."""
    B, nh, T, hs = q.shape
    C = nh * hs
    causal = torch.ones(T, T, device=q.device).tril() == 1  # where a position may look
    att = (q @ k.transpose(-2, -1) * hs**-0.5).masked_fill(~causal, float("-inf")).softmax(-1)
    dy = datty.view(B, T, nh, hs).transpose(1, 2)
    datt, dv = dy @ v.transpose(-2, -1), att.transpose(-2, -1) @ dy
    dpreatt = att * (datt - (att * datt).sum(-1, keepdim=True))
    dq, dk = dpreatt @ k * hs**-0.5, dpreatt.transpose(-2, -1) @ q * hs**-0.5
    return torch.cat([d.transpose(1, 2).reshape(B, T, C) for d in (dq, dk, dv)], dim=-1)


dlogits = (torch.softmax(logits, -1) - torch.nn.functional.one_hot(targets, logits.shape[-1])) / (B * T)
dlnf = dlogits @ wte
dresidual3_1, dlnfw, dlnfb = layernorm_backward(dlnf, residual3_1, lnfw)
# block 1
dfcproj_1 = dresidual3_1
dfch_gelu_1, dfcprojw_1, dfcprojb_1 = linear_backward(dfcproj_1, fch_gelu_1, fcprojw_1)
dfch_1 = gelu_backward(dfch_gelu_1, fch_1)
dln2_1, dfcw_1, dfcb_1 = linear_backward(dfch_1, ln2_1, fcw_1)
dresidual2_1, dln2w_1, dln2b_1 = layernorm_backward(dln2_1, residual2_1, ln2w_1)
dresidual2_1 += dresidual3_1  # the residual add
dattproj_1 = dresidual2_1
datty_1, dattprojw_1, dattprojb_1 = linear_backward(dattproj_1, atty_1, attprojw_1)
dqkv_1 = attention_backward(datty_1, q_1, k_1, v_1)
dln1_1, dqkvw_1, dqkvb_1 = linear_backward(dqkv_1, ln1_1, qkvw_1)
dresidual3_0, dln1w_1, dln1b_1 = layernorm_backward(dln1_1, residual3_0, ln1w_1)
dresidual3_0 += dresidual2_1
# block 0
dfcproj_0 = dresidual3_0
dfch_gelu_0, dfcprojw_0, dfcprojb_0 = linear_backward(dfcproj_0, fch_gelu_0, fcprojw_0)
dfch_0 = gelu_backward(dfch_gelu_0, fch_0)
dln2_0, dfcw_0, dfcb_0 = linear_backward(dfch_0, ln2_0, fcw_0)
dresidual2_0, dln2w_0, dln2b_0 = layernorm_backward(dln2_0, residual2_0, ln2w_0)
dresidual2_0 += dresidual3_0
dattproj_0 = dresidual2_0
datty_0, dattprojw_0, dattprojb_0 = linear_backward(dattproj_0, atty_0, attprojw_0)
dqkv_0 = attention_backward(datty_0, q_0, k_0, v_0)
dln1_0, dqkvw_0, dqkvb_0 = linear_backward(dqkv_0, ln1_0, qkvw_0)
dencoded, dln1w_0, dln1b_0 = layernorm_backward(dln1_0, encoded, ln1w_0)
dencoded += dresidual2_0
# the embeddings
dwpe = torch.zeros_like(wpe)
dwpe[:T] = dencoded.sum(0)
dwte = dlogits.view(B * T, -1).T @ lnf.view(B * T, -1)  # the language-model head's part
dwte.index_add_(0, idx.view(-1), dencoded.view(B * T, -1))  # and the lookup's

if __name__ == "__main__":  # `python exercises/gpt4.py` checks this file too
    from ninja.cli import main

    main(["check", "gpt4", "--file", __file__])
