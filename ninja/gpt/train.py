"""gpt5's training run: the two-block GPT trained twice from the same initialisation on the same
batches, once with the learner's forward_backward and once with autograd (loss.backward()), so the
learner sees their loss curve against autograd's; then the validation loss and names sampled from
their model.

Pure: no printing. `on_progress(i, loss)` reports every so many steps and the caller renders it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ninja.gpt import data, model2
from ninja.training import OnProgress, run_steps
from ninja.watchdog import one_thread

DEFAULT_STEPS = 1_000  # a few seconds a run on a laptop's CPU: enough to see names form
LEARNING_RATE = 1e-2  # Adam's, for a model this small
SAMPLES = 20
SAMPLE_SEED = 2147483647 + 10
VAL_BATCHES = 20

StepFn = Callable[[dict, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict]]


@dataclass
class Training:
    steps: int
    device: str
    losses: list[float]  # every step's batch loss, with the learner's gradients
    autograd_losses: list[float]  # the same steps with autograd's
    val_loss: float
    autograd_val_loss: float
    samples: list[str]
    seconds: float  # the learner's optimisation loop alone


def autograd_step(params: dict, idx, targets) -> tuple[torch.Tensor, dict]:
    """The reference step: the trusted forward and loss.backward()."""
    with torch.enable_grad():
        leaves = {k: p.detach().requires_grad_() for k, p in params.items()}
        loss = model2.forward(lambda name, t: t, **leaves, idx=idx, targets=targets)
        loss.backward()
    return loss.detach(), {k: leaf.grad for k, leaf in leaves.items()}


class Adam:
    """Adam on every parameter at once, in place (the same for both runs, so only the gradients
    differ). It makes the entries of `params` views of one flat tensor, with the same values, so a
    step is a few operations on that tensor instead of a few on each of the 28 parameters: at batch
    32 these were a third of a training step, autograd's or yours (bench/gpt_step.py)."""

    def __init__(self, params: dict, lr: float, betas=(0.9, 0.99), eps=1e-8):
        self.flat = torch.cat([p.reshape(-1) for p in params.values()])
        views = self.flat.split([p.numel() for p in params.values()])
        params.update({name: view.view(p.shape) for (name, p), view in zip(params.items(), views, strict=True)})
        self.names, self.lr, self.betas, self.eps = list(params), lr, betas, eps
        self.m, self.v, self.t = torch.zeros_like(self.flat), torch.zeros_like(self.flat), 0

    def step(self, grads: dict) -> None:
        (b1, b2), self.t = self.betas, self.t + 1
        g = torch.cat([grads[name].reshape(-1) for name in self.names])
        self.m.mul_(b1).add_(g, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denominator = (self.v / (1 - b2**self.t)).sqrt_().add_(self.eps)
        self.flat.addcdiv_(self.m, denominator, value=-self.lr / (1 - b1**self.t))


def optimise(
    step_fn: StepFn,
    params: dict,
    stream,
    steps: int,
    batch_size: int,
    seed: int,
    on_progress: OnProgress | None = None,
    every: int = 100,
) -> list[float]:
    """Adam on `params` in place with the gradients step_fn returns: every step's loss."""
    device = next(iter(params.values())).device
    g = torch.Generator().manual_seed(seed)  # on the CPU, so every device and both runs see the same batches
    adam = Adam(params, LEARNING_RATE)

    def one_step(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx, targets = (t.to(device) for t in data.batch(stream, g, batch_size))
        loss, grads = step_fn(params, idx, targets)
        adam.step(grads)
        return loss, loss

    return run_steps(steps, device, one_step, on_progress, every)


def initial(settings, device) -> dict:
    """model2's parameters at the settings' seed, in float32 (the gradients were checked in float64)."""
    params = model2.parameters(torch.Generator().manual_seed(settings.seed))
    return {k: p.to(device=device, dtype=torch.float32) for k, p in params.items()}


def val_loss(params: dict, stream) -> float:
    g = torch.Generator().manual_seed(0)
    device = next(iter(params.values())).device
    losses = [model2.forward(lambda name, t: t, **params, idx=i.to(device), targets=t.to(device))
              for i, t in (data.batch(stream, g, 256) for _ in range(VAL_BATCHES))]  # fmt: skip
    return torch.stack(losses).mean().item()


def sample(params: dict, count: int = SAMPLES) -> list[str]:
    """Names from the model: start after a '.', one character at a time, until the next '.'."""
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    params = {k: p.cpu() for k, p in params.items()}
    names = []
    for _ in range(count):
        context = [0]
        while len(context) <= 3 * data.BLOCK_SIZE:
            logits = last_logits(params, torch.tensor([context[-data.BLOCK_SIZE :]]))
            ix = int(torch.multinomial(logits.softmax(-1), 1, generator=g).item())
            if ix == 0:
                break
            context.append(ix)
        names.append(data.decode(context[1:]))
    return names


def last_logits(params: dict, idx: torch.Tensor) -> torch.Tensor:
    """The logits for the character after the last of `idx` (1, t)."""
    found: dict[str, torch.Tensor] = {}
    model2.forward(lambda name, t: found.setdefault(name, t), **params, idx=idx, targets=torch.zeros_like(idx))
    return found["logits"][0, -1]


def train(
    step_fn: StepFn, settings, steps: int, device: torch.device, on_progress: OnProgress | None = None, every: int = 100
) -> Training:
    """Both runs, the validation losses and the samples from the learner's model."""
    streams = data.splits(settings.data)
    mine, reference = initial(settings, device), initial(settings, device)
    # batch-32 matmuls are too small to split: a thread pool costs more than it saves (makemore's train.py)
    with one_thread(), torch.no_grad():
        start = time.perf_counter()
        batches = (settings.batch_size, settings.seed)
        losses = optimise(step_fn, mine, streams["train"], steps, *batches, on_progress, every)
        seconds = time.perf_counter() - start
    with one_thread():
        autograd_losses = optimise(autograd_step, reference, streams["train"], steps, *batches)
    with torch.no_grad():
        return Training(steps=steps, device=str(device), losses=losses, autograd_losses=autograd_losses,
                        val_loss=val_loss(mine, streams["val"]), autograd_val_loss=val_loss(reference, streams["val"]),
                        samples=sample(mine), seconds=seconds)  # fmt: skip


def curve(losses: list[float], points: int = 100) -> tuple[int, list[float]]:
    """(window, the loss averaged over each window of steps): at most `points` values."""
    window = max(1, len(losses) // points)
    usable = len(losses) // window * window
    return window, torch.tensor(losses[:usable]).view(-1, window).mean(1).tolist()
