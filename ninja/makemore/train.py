"""Exercise 4's training run: the notebook's loop, with the learner's forward_backward as the step.

Pure: no printing. `on_progress(i, loss)` reports every so many steps and the caller renders it.
The batches, the batchnorm calibration, the train/val losses and the samples are the notebook's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from ninja import makemore
from ninja.makemore import data
from ninja.training import OnProgress, run_steps
from ninja.watchdog import one_thread

FULL_STEPS = 200_000  # the notebook's max_steps
DEFAULT_STEPS = 20_000  # a tenth of the notebook's: about 10 s at 0.5 ms a step on 2 busy CPU cores
SAMPLES = 20
SAMPLE_SEED = 2147483647 + 10  # the notebook's sampling generator
MAX_NAME_LENGTH = 50  # a barely trained model may take long to sample '.'

StepFn = Callable[..., tuple[torch.Tensor, Sequence[torch.Tensor]]]


@dataclass
class Training:
    steps: int
    device: str
    lossi: list[float]  # log10 of every step's batch loss, as the notebook keeps it
    train_loss: float  # on the whole split, batchnorm calibrated on the training set
    val_loss: float
    samples: list[str]
    seconds: float  # the optimisation loop alone


def decay_step(steps: int) -> int:
    """The first step at 0.01: half way, as in the notebook, but never the first step of a tiny run."""
    return max(1, steps // 2)


def learning_rate(i: int, steps: int) -> float:
    return 0.1 if i < decay_step(steps) else 0.01  # step learning rate decay


def optimise(
    step_fn: StepFn,
    params: list[torch.Tensor],
    Xtr,
    Ytr,
    steps: int,
    batch_size: int,
    seed: int,
    on_progress: OnProgress | None = None,
    every: int = 100,
) -> list[float]:
    """SGD on `params` in place with the gradients step_fn returns; the log10 loss of every step."""
    device = params[0].device
    g = torch.Generator().manual_seed(seed)  # on the CPU, so every device sees the same batches

    def one_step(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        loss, grads = step_fn(*params, Xtr[ix].to(device), Ytr[ix].to(device))
        lr = learning_rate(i, steps)
        for p, grad in zip(params, grads, strict=True):
            p.add_(grad.reshape(p.shape), alpha=-lr)  # (200,) for (1, 200) passes the check too
        return loss.log10(), loss

    return run_steps(steps, device, one_step, on_progress, every)


def hidden(params, X, bnmean, bnvar):
    """The hidden layer with batchnorm's calibrated statistics, as the notebook evaluates it."""
    C, W1, b1, W2, b2, bngain, bnbias = params
    emb = C[X]
    hpreact = emb.view(emb.shape[0], -1) @ W1 + b1
    return torch.tanh(bngain * (hpreact - bnmean) * (bnvar + 1e-5) ** -0.5 + bnbias)


def calibrate(params, Xtr) -> tuple[torch.Tensor, torch.Tensor]:
    """Batchnorm's mean and variance over the entire training set."""
    C, W1, b1 = params[:3]
    emb = C[Xtr]
    hpreact = emb.view(emb.shape[0], -1) @ W1 + b1
    return hpreact.mean(0, keepdim=True), hpreact.var(0, keepdim=True, unbiased=True)


def split_loss(params, X, Y, bnmean, bnvar) -> float:
    W2, b2 = params[3], params[4]
    return F.cross_entropy(hidden(params, X, bnmean, bnvar) @ W2 + b2, Y).item()


def sample(params, bnmean, bnvar, count: int = SAMPLES) -> list[str]:
    """Names from the model, one character at a time, with the notebook's sampling seed."""
    W2, b2 = params[3], params[4]
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    names = []
    for _ in range(count):
        out, context = [], [0] * data.BLOCK_SIZE
        while len(out) < MAX_NAME_LENGTH:
            probs = F.softmax(hidden(params, torch.tensor([context]), bnmean, bnvar) @ W2 + b2, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            if ix == 0:
                break
            out.append(ix)
            context = context[1:] + [ix]
        names.append("".join(data.itos[i] for i in out))
    return names


def train(
    step_fn: StepFn,
    settings: makemore.Settings,
    steps: int,
    n_hidden: int,
    device: torch.device,
    on_progress: OnProgress | None = None,
    every: int = 100,
) -> Training:
    """The notebook's exercise 4 from its init: optimise, calibrate batchnorm, evaluate, sample.
    on_progress(i, loss) hears of step i every `every` steps and of the last."""
    # float32 as in the notebook: the gradients were checked in float64, training needs speed
    with makemore.use(replace(settings, dtype=torch.float32)):
        params = [p.to(device) for p in makemore.parameters(n_hidden)]
        Xtr, Ytr = makemore.dataset("train")
        Xval, Yval = makemore.dataset("val")
    # batch-32 matmuls are too small to split: on 2 busy cores a step took 1.2 ms with 2 threads, 0.25 ms with one
    with torch.no_grad(), one_thread():
        start = time.perf_counter()
        lossi = optimise(step_fn, params, Xtr, Ytr, steps, settings.batch_size, settings.seed, on_progress, every)
        seconds = time.perf_counter() - start
    with torch.no_grad():
        params = [p.cpu() for p in params]
        bnmean, bnvar = calibrate(params, Xtr)
        return Training(
            steps=steps,
            device=str(device),
            lossi=lossi,
            train_loss=split_loss(params, Xtr, Ytr, bnmean, bnvar),
            val_loss=split_loss(params, Xval, Yval, bnmean, bnvar),
            samples=sample(params, bnmean, bnvar),
            seconds=seconds,
        )


def curve(lossi: Sequence[float], points: int = 200) -> tuple[int, list[float]]:
    """(window, log10 loss averaged over each window of steps): the notebook's view(-1, 1000).mean(1)
    for 200,000 steps; at most `points` values, a trailing partial window dropped."""
    window = max(1, len(lossi) // points)
    usable = len(lossi) // window * window
    return window, torch.tensor(lossi[:usable]).view(-1, window).mean(1).tolist()
