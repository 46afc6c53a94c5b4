"""What every track's training run shares (makemore's exercise 4, the GPT's gpt5): the device to
train on, the loop over steps, and the error a learner's step raises mid-run. Pure: no printing."""

from __future__ import annotations

from collections.abc import Callable

import torch

OnProgress = Callable[[int, float], None]


class StepFailed(Exception):
    """The learner's forward_backward raised or returned something unusable during training."""

    def __init__(self, step: int, cause: BaseException):
        super().__init__(f"step {step}: {cause}")
        self.step = step
        self.cause = cause


def pick_device(asked: str) -> tuple[torch.device, str | None]:
    """The device to train on and, when it is not the one asked for, why."""
    if asked == "cuda" and not torch.cuda.is_available():
        why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        return torch.device("cpu"), f"--device cuda: {why}, so training runs on the CPU"
    return torch.device(asked), None


def run_steps(
    steps: int,
    device: torch.device,
    one_step: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    on_progress: OnProgress | None = None,
    every: int = 100,
) -> list[float]:
    """Take every step: one_step(i) gives (what to record of step i's loss, the loss). What it raises
    is the learner's code failing at step i (StepFailed); on_progress(i, loss) hears of step i every
    `every` steps and of the last. The records stay on the device until the end: no sync per step."""
    recorded = torch.empty(steps, device=device)
    for i in range(steps):
        try:
            recorded[i], loss = one_step(i)
        except Exception as e:  # noqa: BLE001 (the learner's code: reported with its line)
            raise StepFailed(i, e) from e
        if on_progress and (i % every == 0 or i == steps - 1):
            on_progress(i, loss.item())
    return recorded.cpu().tolist()
