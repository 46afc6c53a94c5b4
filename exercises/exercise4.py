"""Exercise 4: putting it all together! Train the MLP neural net with your own backward pass.

Fill in the backward pass of forward_backward below: the gradients of the loss for all seven
parameters, with dlogits in one go (your exercise 2) and dhprebn in one go (your exercise 3). The
notebook's manual backprop lines paste under "YOUR CODE HERE" unchanged (indented one level).
Everything runs under torch.no_grad(): loss.backward() is not there to help.

    ninja check exercise4                  # your gradients on several batches, then a short training run
    ninja check exercise4 --steps full     # the notebook's 200,000 steps
    ninja check exercise4 --plot loss.png  # and the training curve as a picture
    python exercises/exercise4.py          # the notebook's training loop below, with your backward
"""

import torch
import torch.nn.functional as F

from ninja.makemore.data import BLOCK_SIZE as block_size
from ninja.makemore.data import itos
from ninja.makemore import dataset, parameters

# init: the checker picks the seed, so these are the numbers its reference uses too
n_embd = 10  # the dimensionality of the character embedding vectors
n_hidden = 200  # the number of neurons in the hidden layer of the MLP
C, W1, b1, W2, b2, bngain, bnbias = parameters(n_hidden)
Xtr, Ytr = dataset("train")
Xdev, Ydev = dataset("val")


def forward_backward(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb):
    """The loss on the batch Xb, Yb and your gradients of it: [dC, dW1, db1, dW2, db2, dbngain, dbnbias]."""
    n = Xb.shape[0]  # the batch size

    # forward pass
    emb = C[Xb]  # embed the characters into vectors
    embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors
    # Linear layer
    hprebn = embcat @ W1 + b1  # hidden layer pre-activation
    # BatchNorm layer
    # -------------------------------------------------------------
    bnmean = hprebn.mean(0, keepdim=True)
    bnvar = hprebn.var(0, keepdim=True, unbiased=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = (hprebn - bnmean) * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    # -------------------------------------------------------------
    # Non-linearity
    h = torch.tanh(hpreact)  # hidden layer
    logits = h @ W2 + b2  # output layer
    loss = F.cross_entropy(logits, Yb)  # loss function

    # manual backprop! #swole_doge_meme
    # -----------------
    # YOUR CODE HERE :)
    dC, dW1, db1, dW2, db2, dbngain, dbnbias = None, None, None, None, None, None, None
    # -----------------
    grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
    return loss, grads


if __name__ == "__main__":  # the notebook's training loop, with your backward pass (about 10 minutes)
    import sys

    torch.set_num_threads(1)  # as `ninja check` trains: batch-32 matrices are too small to share among threads
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    print(sum(p.nelement() for p in parameters))  # number of parameters in total
    g = torch.Generator().manual_seed(2147483647)
    # `python exercises/exercise4.py 20000` trains for fewer; `ninja check exercise4 --steps N` too, with a progress bar
    max_steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    batch_size = 32
    lossi = []

    with torch.no_grad():
        _, grads = forward_backward(*parameters, Xtr[:batch_size], Ytr[:batch_size])
        names = ["dC", "dW1", "db1", "dW2", "db2", "dbngain", "dbnbias"]
        missing = [name for name, grad in zip(names, grads) if grad is None]
        if missing:  # the template: nothing to train with yet
            sys.exit(f"forward_backward returns None for {', '.join(missing)}: write your backward pass first "
                     "(`ninja check exercise4` compares it with autograd)")
        print(f"training for {max_steps:,} steps")
        # kick off optimization
        for i in range(max_steps):
            # minibatch construct
            ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
            Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y
            # forward pass and your backward pass
            loss, grads = forward_backward(*parameters, Xb, Yb)
            # update
            lr = 0.1 if i < 100000 else 0.01  # step learning rate decay
            for p, grad in zip(parameters, grads):
                p.data += -lr * grad  # new way of swole doge
            # track stats
            if i % 10000 == 0:  # print every once in a while
                print(f"{i:7d}/{max_steps:7d}: {loss.item():.4f}")
            lossi.append(loss.log10().item())

        # calibrate the batch norm at the end of training: pass the training set through
        emb = C[Xtr]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1 + b1
        # measure the mean/std over the entire training set
        bnmean = hpreact.mean(0, keepdim=True)
        bnvar = hpreact.var(0, keepdim=True, unbiased=True)

        # evaluate train and val loss
        for split, (x, y) in {"train": (Xtr, Ytr), "val": (Xdev, Ydev)}.items():
            emb = C[x]  # (N, block_size, n_embd)
            embcat = emb.view(emb.shape[0], -1)  # concat into (N, block_size * n_embd)
            hpreact = embcat @ W1 + b1
            hpreact = bngain * (hpreact - bnmean) * (bnvar + 1e-5) ** -0.5 + bnbias
            h = torch.tanh(hpreact)  # (N, n_hidden)
            logits = h @ W2 + b2  # (N, vocab_size)
            print(split, F.cross_entropy(logits, y).item())

        # sample from the model
        g = torch.Generator().manual_seed(2147483647 + 10)
        for _ in range(20):
            out = []
            context = [0] * block_size  # initialize with all ...
            while True:
                # forward pass
                emb = C[torch.tensor([context])]  # (1,block_size,d)
                embcat = emb.view(emb.shape[0], -1)  # concat into (N, block_size * n_embd)
                hpreact = embcat @ W1 + b1
                hpreact = bngain * (hpreact - bnmean) * (bnvar + 1e-5) ** -0.5 + bnbias
                h = torch.tanh(hpreact)  # (N, n_hidden)
                logits = h @ W2 + b2  # (N, vocab_size)
                # sample
                probs = F.softmax(logits, dim=1)
                ix = torch.multinomial(probs, num_samples=1, generator=g).item()
                context = context[1:] + [ix]
                out.append(ix)
                if ix == 0:
                    break
            print("".join(itos[i] for i in out))
