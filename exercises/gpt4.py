"""GPT 4: backprop through the whole GPT, one layer in one go at a time.

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

# backward pass: your code here, in this order

dlogits = None  # TODO
dlnf = None  # TODO
dlnfw = None  # TODO
dlnfb = None  # TODO
dresidual3_1 = None  # TODO
dfcproj_1 = None  # TODO
dfcprojw_1 = None  # TODO
dfcprojb_1 = None  # TODO
dfch_gelu_1 = None  # TODO
dfch_1 = None  # TODO
dfcw_1 = None  # TODO
dfcb_1 = None  # TODO
dln2_1 = None  # TODO
dln2w_1 = None  # TODO
dln2b_1 = None  # TODO
dresidual2_1 = None  # TODO
dattproj_1 = None  # TODO
dattprojw_1 = None  # TODO
dattprojb_1 = None  # TODO
datty_1 = None  # TODO
dqkv_1 = None  # TODO
dqkvw_1 = None  # TODO
dqkvb_1 = None  # TODO
dln1_1 = None  # TODO
dln1w_1 = None  # TODO
dln1b_1 = None  # TODO
dresidual3_0 = None  # TODO
dfcproj_0 = None  # TODO
dfcprojw_0 = None  # TODO
dfcprojb_0 = None  # TODO
dfch_gelu_0 = None  # TODO
dfch_0 = None  # TODO
dfcw_0 = None  # TODO
dfcb_0 = None  # TODO
dln2_0 = None  # TODO
dln2w_0 = None  # TODO
dln2b_0 = None  # TODO
dresidual2_0 = None  # TODO
dattproj_0 = None  # TODO
dattprojw_0 = None  # TODO
dattprojb_0 = None  # TODO
datty_0 = None  # TODO
dqkv_0 = None  # TODO
dqkvw_0 = None  # TODO
dqkvb_0 = None  # TODO
dln1_0 = None  # TODO
dln1w_0 = None  # TODO
dln1b_0 = None  # TODO
dencoded = None  # TODO
dwpe = None  # TODO
dwte = None  # TODO

if __name__ == "__main__":  # `python exercises/gpt4.py` checks this file too
    from ninja.cli import main

    main(["check", "gpt4", "--file", __file__])
