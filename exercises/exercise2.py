"""Exercise 2: backprop through cross_entropy, but all in one go.

Look at the mathematical expression of the loss, take the derivative, simplify the expression,
and just write it out: dlogits without going through logit_maxes, counts and probs.

    ninja check exercise2
    ninja hint exercise2
"""

import torch
import torch.nn.functional as F

from ninja.makemore import batch, parameters

# the checker picks the seed and the batch size, so these are the numbers its reference uses too
# (in float64: float32 rounding, amplified by batchnorm, could make a right answer look wrong)
C, W1, b1, W2, b2, bngain, bnbias = parameters()
Xb, Yb = batch()
n = Xb.shape[0]  # the batch size, 32 by default

# forward pass, as in exercise 1 up to the logits

emb = C[Xb]  # embed the characters into vectors
embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors
# Linear layer 1
hprebn = embcat @ W1 + b1  # hidden layer pre-activation
# BatchNorm layer
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)  # note: Bessel's correction (dividing by n-1, not n)
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
# Non-linearity
h = torch.tanh(hpreact)  # hidden layer
# Linear layer 2
logits = h @ W2 + b2  # output layer
# cross entropy loss, the eight lines of exercise 1 in one call
loss = F.cross_entropy(logits, Yb)

# backward pass: your code here

dlogits = None  # TODO

if __name__ == "__main__":  # `python exercises/exercise2.py` checks this file too
    from ninja.cli import main

    main(["check", "exercise2", "--file", __file__])
