"""Exercise 1: backprop through the whole thing manually, one line of the forward pass at a time.

Below is the forward pass of makemore part 4 ("Becoming a backprop ninja"), chunked into small
steps. For every intermediate X, replace `dX = None  # TODO` with the gradient of the loss with
respect to X: same shape as X, using only the forward values and the gradients you already have.
You may paste your notebook's backward lines over the TODO lines as they are.

    ninja check exercise1     # compare with PyTorch autograd, variable by variable
    ninja hint exercise1      # a hint for the first line that is wrong
"""

import torch
import torch.nn.functional as F

from ninja.makemore import batch, parameters

# the checker picks the seed and the batch size, so these are the numbers its reference uses too
# (in float64: float32 rounding, amplified by batchnorm, could make a right answer look wrong)
C, W1, b1, W2, b2, bngain, bnbias = parameters()
Xb, Yb = batch()
n = Xb.shape[0]  # the batch size, 32 by default

# forward pass, "chunkated" into smaller steps that are possible to backward one at a time

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
# cross entropy loss (same as F.cross_entropy(logits, Yb))
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes  # subtract max for numerical stability
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1  # if I use (1.0 / counts_sum) instead then I can't get backprop to be bit exact...
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()

# backward pass: your code here, in this order

dlogprobs = None  # TODO
dprobs = None  # TODO
dcounts_sum_inv = None  # TODO
dcounts_sum = None  # TODO
dcounts = None  # TODO
dnorm_logits = None  # TODO
dlogit_maxes = None  # TODO
dlogits = None  # TODO
dh = None  # TODO
dW2 = None  # TODO
db2 = None  # TODO
dhpreact = None  # TODO
dbngain = None  # TODO
dbnbias = None  # TODO
dbnraw = None  # TODO
dbnvar_inv = None  # TODO
dbnvar = None  # TODO
dbndiff2 = None  # TODO
dbndiff = None  # TODO
dbnmeani = None  # TODO
dhprebn = None  # TODO
dembcat = None  # TODO
dW1 = None  # TODO
db1 = None  # TODO
demb = None  # TODO
dC = None  # TODO

if __name__ == "__main__":  # `python exercises/exercise1.py` checks this file too
    from ninja.cli import main

    main(["check", "exercise1", "--file", __file__])
