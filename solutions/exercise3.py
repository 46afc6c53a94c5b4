"""Solution to exercise 3: backprop through batchnorm, but all in one go.

Take the mathematical expression of batchnorm's output (hpreact, below, as one formula of hprebn),
derive the gradient with respect to its input, simplify, and write dhprebn from dhpreact, which is
given. Note the variance is Bessel-corrected (divided by n-1), as in the notebook.

    ninja check exercise3
    ninja hint exercise3
"""

import torch
import torch.nn.functional as F

from ninja.makemore import batch, given, parameters

# the checker picks the seed and the batch size, so these are the numbers its reference uses too
# (in float64: float32 rounding, amplified by batchnorm, could make a right answer look wrong)
C, W1, b1, W2, b2, bngain, bnbias = parameters()
Xb, Yb = batch()
n = Xb.shape[0]  # the batch size, 32 by default

# forward pass, as in exercise 1

emb = C[Xb]  # embed the characters into vectors
embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors
# Linear layer 1
hprebn = embcat @ W1 + b1  # hidden layer pre-activation
# BatchNorm layer, in the steps of exercise 1
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)  # note: Bessel's correction (dividing by n-1, not n)
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
# hpreact is batchnorm in one formula of hprebn:
# hpreact = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
# Non-linearity
h = torch.tanh(hpreact)  # hidden layer
# Linear layer 2
logits = h @ W2 + b2  # output layer
loss = F.cross_entropy(logits, Yb)

# backward pass: dhpreact is given (the gradient of the loss flowing into hpreact)
dhpreact = given("hpreact")

# the notebook's answer
dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))

if __name__ == "__main__":  # `python exercises/exercise3.py` checks this file too
    from ninja.cli import main

    main(["check", "exercise3", "--file", __file__])
