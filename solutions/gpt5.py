"""Solution to GPT 5: train the GPT with your own backward pass.

Write the backward pass of forward_backward below: the two-block GPT of gpt4 on a batch, and your
gradients of its loss for every parameter (each layer in one go, as in gpt4). It runs under
torch.no_grad(): loss.backward() is not there to help. `ninja check gpt5` compares your gradients
with autograd's, then trains the GPT twice from the same start on the same batches, with your
gradients and with autograd's: the two loss curves, the validation losses and names sampled from
your model.

    ninja check gpt5                         # your gradients, then 1,000 steps of training
    ninja check gpt5 --steps 5000 --plot loss.png --device cuda
    python exercises/gpt5.py --steps 5000    # the same
"""

import math

import torch
import torch.nn.functional as F

from ninja.tapped.learner import tensors

PARAMETERS = (
    "wte",
    "wpe",
    "ln1w_0",
    "ln1b_0",
    "qkvw_0",
    "qkvb_0",
    "attprojw_0",
    "attprojb_0",
    "ln2w_0",
    "ln2b_0",
    "fcw_0",
    "fcb_0",
    "fcprojw_0",
    "fcprojb_0",
    "ln1w_1",
    "ln1b_1",
    "qkvw_1",
    "qkvb_1",
    "attprojw_1",
    "attprojb_1",
    "ln2w_1",
    "ln2b_1",
    "fcw_1",
    "fcb_1",
    "fcprojw_1",
    "fcprojb_1",
    "lnfw",
    "lnfb",
)


BLOCK = ("ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb", "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb")
NH = 2  # heads
GELU_K = (2 / math.pi) ** 0.5  # GPT-2's GELU: 0.5 x (1 + tanh(K (x + A x³)))
GELU_A = 0.044715

# Every tensor is kept 2D, (B*T, channels), so each linear layer is one matrix product. The forward
# keeps what the backward needs (layernorm's norm and rstd, the attention weights, GELU's tanh), and
# each step is a few whole-tensor operations: at this size an operation costs about the same whatever
# its size, so fewer operations make a faster step (bench/gpt_step.py).


def layernorm(inp, w, b):
    """llm.c's layernorm over the channels of inp (N, C): the output and what its backward needs."""
    xshift = torch.add(inp, inp.sum(-1, keepdim=True), alpha=-1 / inp.shape[-1])  # inp minus its mean
    rstd = (xshift * xshift).mean(-1, keepdim=True).add_(1e-5).rsqrt_()  # biased variance, over C
    norm = xshift.mul_(rstd)
    return torch.addcmul(b, norm, w), (norm, rstd, w)


def layernorm_backward(dout, saved, dresidual=None):
    """(dinp, dw, db); dinp plus dresidual, the gradient that reaches inp along the residual stream."""
    norm, rstd, w = saved
    dnorm = dout * w
    C = norm.shape[-1]  # dnorm - mean(dnorm) - norm * mean(dnorm * norm), the means' 1/C in alpha and value:
    dinp = torch.add(dnorm, dnorm.sum(-1, keepdim=True), alpha=-1 / C)
    dinp.addcmul_(norm, (dnorm * norm).sum(-1, keepdim=True), value=-1 / C)
    dinp = dinp.mul_(rstd) if dresidual is None else torch.addcmul(dresidual, dinp, rstd)
    return dinp, (dout * norm).sum(0), dout.sum(0)


def linear_backward(dout, inp, w):
    """out = inp @ w.T + b, all (N, features): (dinp, dw, db)."""
    return dout @ w, dout.T @ inp, dout.sum(0)


def gelu(x):
    """GPT-2's GELU and what its backward needs: x, x² and the tanh."""
    x2 = x * x
    t = torch.tanh(torch.addcmul(x, x, x2, value=GELU_A).mul_(GELU_K))  # K (x + A x³)
    return torch.addcmul(x, x, t).mul_(0.5), (x, x2, t)


def gelu_backward(dout, saved):
    """d/dx 0.5 x (1 + t) = 0.5 (1 + t) + 0.5 x (1 - t²) K (1 + 3 A x²), t = tanh(K (x + A x³))."""
    x, x2, t = saved
    dx = (1 - t * t).mul_(x).mul_(x2 * (1.5 * GELU_K * GELU_A) + 0.5 * GELU_K)
    return dx.add_(t, alpha=0.5).add_(0.5).mul_(dout)


def softmax(scores):
    """Over the last dim, the row's largest score subtracted first: exp never overflows."""
    e = (scores - scores.amax(-1, keepdim=True)).exp_()
    return e.div_(e.sum(-1, keepdim=True))


def attention(qkv, B, mask):
    """Causal self-attention of q, k, v side by side in qkv (B*T, 3C), the heads side by side."""
    N, C = qkv.shape[0], qkv.shape[1] // 3
    T, hs = N // B, C // NH
    q, k, v = qkv.view(B, T, 3, NH, hs).permute(2, 0, 3, 1, 4).reshape(3, B * NH, T, hs)
    att = softmax(torch.baddbmm(mask, q, k.transpose(1, 2), alpha=hs**-0.5))  # mask: -inf above the diagonal
    y = torch.bmm(att, v)  # (B*nh, T, hs)
    return y.view(B, NH, T, hs).transpose(1, 2).reshape(N, C), (q, k, v, att)


def attention_backward(datty, saved, B):
    """dqkv (B*T, 3C) from the gradient of the heads side by side; masked weights are 0, so are theirs."""
    q, k, v, att = saved
    T, hs = q.shape[1], q.shape[2]
    dy = datty.view(B, T, NH, hs).transpose(1, 2).reshape(B * NH, T, hs)
    dpreatt = att * torch.bmm(dy, v.transpose(1, 2))
    dpreatt.addcmul_(att, dpreatt.sum(-1, keepdim=True), value=-1)  # att * (datt - sum(att * datt))
    dpreatt *= hs**-0.5
    dqkv = torch.stack((dpreatt @ k, dpreatt.transpose(1, 2) @ q, att.transpose(1, 2) @ dy))
    return dqkv.view(3, B, NH, T, hs).permute(1, 3, 0, 2, 4).reshape(B * T, 3 * NH * hs)


def block(x, p, B, mask):
    """One transformer block on the residual stream x (B*T, C): its output and what its backward needs."""
    ln1, ln1_saved = layernorm(x, p["ln1w"], p["ln1b"])
    atty, att_saved = attention(F.linear(ln1, p["qkvw"], p["qkvb"]), B, mask)
    residual2 = x + F.linear(atty, p["attprojw"], p["attprojb"])
    ln2, ln2_saved = layernorm(residual2, p["ln2w"], p["ln2b"])
    fch_gelu, gelu_saved = gelu(F.linear(ln2, p["fcw"], p["fcb"]))
    residual3 = residual2 + F.linear(fch_gelu, p["fcprojw"], p["fcprojb"])
    return residual3, (ln1, ln1_saved, atty, att_saved, ln2, ln2_saved, fch_gelu, gelu_saved)


def block_backward(dresidual3, p, saved, B):
    """The gradient of the block's input and of its twelve parameters, from its output's."""
    ln1, ln1_saved, atty, att_saved, ln2, ln2_saved, fch_gelu, gelu_saved = saved
    g = {}
    dfch_gelu, g["fcprojw"], g["fcprojb"] = linear_backward(dresidual3, fch_gelu, p["fcprojw"])
    dfch = gelu_backward(dfch_gelu, gelu_saved)
    dln2, g["fcw"], g["fcb"] = linear_backward(dfch, ln2, p["fcw"])
    dresidual2, g["ln2w"], g["ln2b"] = layernorm_backward(dln2, ln2_saved, dresidual3)  # plus the residual's
    datty, g["attprojw"], g["attprojb"] = linear_backward(dresidual2, atty, p["attprojw"])
    dqkv = attention_backward(datty, att_saved, B)
    dln1, g["qkvw"], g["qkvb"] = linear_backward(dqkv, ln1, p["qkvw"])
    dx, g["ln1w"], g["ln1b"] = layernorm_backward(dln1, ln1_saved, dresidual2)
    return dx, g


def forward_backward(params, idx, targets):
    """The loss on the batch idx, targets and your gradients of it: (loss, {name: gradient})."""
    wte, wpe = params["wte"], params["wpe"]
    B, T = idx.shape
    N, C = B * T, wte.shape[1]
    blocks = [{name: params[f"{name}_{layer}"] for name in BLOCK} for layer in range(2)]
    # forward pass: the two-block GPT of gpt4, keeping what the backward needs
    x = (F.embedding(idx, wte) + wpe[:T]).view(N, C)  # token and position embeddings
    mask = torch.full((T, T), float("-inf"), dtype=x.dtype, device=x.device).triu(1)
    saved = []
    for p in blocks:
        x, block_saved = block(x, p, B, mask)
        saved.append(block_saved)
    lnf, lnf_saved = layernorm(x, params["lnfw"], params["lnfb"])
    logprobs = (lnf @ wte.T).log_softmax(-1)  # the language-model head, tied to the token embedding
    picked = logprobs.gather(1, targets.view(N, 1))
    loss = -picked.mean()  # cross-entropy

    # backward pass
    dlogits = logprobs.exp_()  # softmax's probabilities, minus 1 at each target, over N
    dlogits.scatter_(1, targets.view(N, 1), picked.exp_() - 1)
    dlogits /= N
    grads = {}
    dx, grads["lnfw"], grads["lnfb"] = layernorm_backward(dlogits @ wte, lnf_saved)
    for layer in (1, 0):
        dx, block_grads = block_backward(dx, blocks[layer], saved[layer], B)
        grads |= {f"{name}_{layer}": grad for name, grad in block_grads.items()}
    dwpe = torch.zeros_like(wpe)
    dwpe[:T] = dx.view(B, T, C).sum(0)  # each position's, summed over the batch
    dwte = dlogits.T @ lnf  # the language-model head's part
    dwte.index_add_(0, idx.view(N), dx)  # and the lookup's
    return loss, grads | {"wte": dwte, "wpe": dwpe}


# the checker's tensors: `ninja check gpt5` compares the gradients your function returns on them
*values, idx, targets = tensors("gpt5")
with torch.no_grad():
    loss, grads = forward_backward(dict(zip(PARAMETERS, values)), idx, targets)
(
    dwte,
    dwpe,
    dln1w_0,
    dln1b_0,
    dqkvw_0,
    dqkvb_0,
    dattprojw_0,
    dattprojb_0,
    dln2w_0,
    dln2b_0,
    dfcw_0,
    dfcb_0,
    dfcprojw_0,
    dfcprojb_0,
    dln1w_1,
    dln1b_1,
    dqkvw_1,
    dqkvb_1,
    dattprojw_1,
    dattprojb_1,
    dln2w_1,
    dln2b_1,
    dfcw_1,
    dfcb_1,
    dfcprojw_1,
    dfcprojb_1,
    dlnfw,
    dlnfb,
) = (grads[name] for name in PARAMETERS)

if __name__ == "__main__":  # `python exercises/gpt5.py --steps 5000` checks, then trains
    import sys

    from ninja.cli import main

    main(["check", "gpt5", "--file", __file__, *sys.argv[1:]])
