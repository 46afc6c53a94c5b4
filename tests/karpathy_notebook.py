"""A notebook written like Karpathy's "Becoming a backprop ninja", built with nbformat for the tests.

The data, training and plotting cells must never run under `ninja check --file`: the data cell
downloads and reads names.txt (absent in the tests' folder), the training cell loops 200000 steps.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent


def between(path: Path, first: str, last: str) -> str:
    text = path.read_text()
    return text[text.index(first) : text.index(last)].rstrip()


def forward_lines() -> str:
    """The notebook's forward cell is the template's forward."""
    return between(ROOT / "exercises" / "exercise1.py", "emb = C[Xb]", "\n# backward pass")


def backward_lines() -> str:
    """The notebook's answer to exercise 1, as in the reference solution."""
    return between(ROOT / "solutions" / "exercise1.py", "dlogprobs = torch.zeros_like", "\nif __name__")


IMPORTS = """import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt # for making figures
%matplotlib inline"""

DOWNLOAD = "!wget https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"

DATA = """words = open('names.txt', 'r').read().splitlines()
print(len(words))
chars = sorted(list(set(''.join(words))))
stoi = {s:i+1 for i,s in enumerate(chars)}
stoi['.'] = 0
itos = {i:s for s,i in stoi.items()}
vocab_size = len(itos)"""

CMP = """# utility function we will use later when comparing manual gradients to PyTorch gradients
def cmp(s, dt, t):
  ex = torch.all(dt == t.grad).item()
  app = torch.allclose(dt, t.grad)
  maxdiff = (dt - t.grad).abs().max().item()
  print(f'{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}')"""

# the notebook's parameters and batch cells, with the checker's seeded numbers
SETUP = """from ninja.makemore import batch, parameters
C, W1, b1, W2, b2, bngain, bnbias = parameters()
parameters = [C, W1, b1, W2, b2, bngain, bnbias]
for p in parameters:
  p.requires_grad = True
Xb, Yb = batch()
n = Xb.shape[0]"""

FORWARD = (
    forward_lines()
    + """
# PyTorch backward pass
for p in parameters:
  p.grad = None
for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, # afaik there is no cleaner way
          norm_logits, logit_maxes, logits, h, hpreact, bnraw,
         bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
         embcat, emb]:
  t.retain_grad()
loss.backward()
loss"""
)

EXERCISE1 = (
    """# Exercise 1: backprop through the whole thing manually,
# backpropagating through exactly all of the variables
# as they are defined in the forward pass above, one by one

"""
    + backward_lines()
    + """

cmp('logprobs', dlogprobs, logprobs)
cmp('probs', dprobs, probs)
cmp('counts_sum_inv', dcounts_sum_inv, counts_sum_inv)
cmp('counts_sum', dcounts_sum, counts_sum)
cmp('counts', dcounts, counts)
cmp('norm_logits', dnorm_logits, norm_logits)
cmp('logit_maxes', dlogit_maxes, logit_maxes)
cmp('logits', dlogits, logits)
cmp('h', dh, h)
cmp('W2', dW2, W2)
cmp('b2', db2, b2)
cmp('hpreact', dhpreact, hpreact)
cmp('bngain', dbngain, bngain)
cmp('bnbias', dbnbias, bnbias)
cmp('bnraw', dbnraw, bnraw)
cmp('bnvar_inv', dbnvar_inv, bnvar_inv)
cmp('bnvar', dbnvar, bnvar)
cmp('bndiff2', dbndiff2, bndiff2)
cmp('bndiff', dbndiff, bndiff)
cmp('bnmeani', dbnmeani, bnmeani)
cmp('hprebn', dhprebn, hprebn)
cmp('embcat', dembcat, embcat)
cmp('W1', dW1, W1)
cmp('b1', db1, b1)
cmp('emb', demb, emb)
cmp('C', dC, C)"""
)

EXERCISE2_FORWARD = """loss_fast = F.cross_entropy(logits, Yb)
print(loss_fast.item(), 'diff:', (loss_fast - loss).item())"""

EXERCISE2 = """# backward pass
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n

cmp('logits', dlogits, logits) # I can only get approximate to be true, my maxdiff is 6e-9"""

EXERCISE3 = """# backward pass
# before we had:
# dbnraw = bngain * dhpreact
# ...
# calculate dhprebn given dhpreact (i.e. backprop through the batchnorm)
dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))

cmp('hprebn', dhprebn, hprebn) # I can only get approximate to be true, my maxdiff is 9e-10"""

TRAINING = """# Exercise 4: putting it all together!
max_steps = 200000
batch_size = 32
n = batch_size
lossi = []
with torch.no_grad():
  for i in range(max_steps):
    ix = torch.randint(0, Xtr.shape[0], (batch_size,))
    Xb, Yb = Xtr[ix], Ytr[ix]
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    dlogits = F.softmax(logits, 1)
    dh = dlogits @ W2.T
    raise RuntimeError('the training cell ran')"""


def notebook(exercise1: str = EXERCISE1, extra_cells=()) -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("## Becoming a backprop ninja"),
        new_code_cell(IMPORTS),
        new_code_cell(DOWNLOAD),
        new_code_cell(DATA),
        new_code_cell(CMP),
        new_code_cell(SETUP),
        new_code_cell(FORWARD),
        new_code_cell(exercise1),
        new_code_cell(EXERCISE2_FORWARD),
        new_code_cell(EXERCISE2),
        new_code_cell(EXERCISE3),
        new_code_cell(TRAINING),
        *[new_code_cell(c) for c in extra_cells],
    ]
    return new_notebook(cells=cells)


def write(path, nb=None):
    nbformat.write(nb if nb is not None else notebook(), str(path))
    return path
