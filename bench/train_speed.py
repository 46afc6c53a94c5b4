"""Time per training step of exercise 4: the solution's manual backward against loss.backward().

Same network, same batches, same process, same loop (ninja.makemore.train.optimise, one CPU thread as
`ninja check exercise4` trains), blocks of steps alternated between the two so that a busy machine
slows both alike. Prints the median time a step of each and the ratio manual / autograd.

    .venv/bin/python bench/train_speed.py [--rounds 10] [--block 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ninja import makemore, runner
from ninja.makemore import train
from ninja.makemore.exercise4 import EXERCISE

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "exercise4.py"


def autograd_step(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb):
    """The notebook's exercise 4 forward pass, then loss.backward() for the gradients."""
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.grad = None
    with torch.enable_grad():
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        bnmean = hprebn.mean(0, keepdim=True)
        bnvar = hprebn.var(0, keepdim=True, unbiased=True)
        bnraw = (hprebn - bnmean) * (bnvar + 1e-5) ** -0.5
        h = torch.tanh(bngain * bnraw + bnbias)
        loss = F.cross_entropy(h @ W2 + b2, Yb)
        loss.backward()
    return loss, [p.grad for p in parameters]


def seconds_per_step(step_fn, params, Xtr, Ytr, steps: int, seed: int) -> float:
    start = time.perf_counter()
    train.optimise(step_fn, params, Xtr, Ytr, steps, 32, seed)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="alternations of the two (default 10)")
    parser.add_argument("--block", type=int, default=200, help="steps of each in a round (default 200)")
    args = parser.parse_args()

    manual_step = runner.run_file(SOLUTION).namespace["forward_backward"]
    manual_params = list(makemore.parameters(EXERCISE.n_hidden))
    autograd_params = [p.clone().requires_grad_() for p in manual_params]
    Xtr, Ytr = makemore.dataset("train")
    manual, autograd = [], []
    with torch.no_grad(), train.one_thread():
        seconds_per_step(manual_step, manual_params, Xtr, Ytr, args.block, 0)  # warm-up, both
        seconds_per_step(autograd_step, autograd_params, Xtr, Ytr, args.block, 0)
        for r in range(args.rounds):  # the same batches (seed r) for both in a round
            manual.append(seconds_per_step(manual_step, manual_params, Xtr, Ytr, args.block, r))
            autograd.append(seconds_per_step(autograd_step, autograd_params, Xtr, Ytr, args.block, r))
    m, a = statistics.median(manual), statistics.median(autograd)
    print(f"torch {torch.__version__}, {args.rounds} rounds of {args.block} steps each, batch 32, n_hidden 200")
    print(f"manual backward  : {m * 1e3:.3f} ms a step (median)")
    print(f"loss.backward()  : {a * 1e3:.3f} ms a step (median)")
    print(f"ratio manual / autograd: {m / a:.2f}x (target <= 1.0x)")


if __name__ == "__main__":
    main()
