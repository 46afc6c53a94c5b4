"""What every track's training run shares (makemore's exercise 4, the GPT's gpt5): the device to
train on, and the error a learner's step raises mid-run. Pure: no printing."""

from __future__ import annotations

import torch


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
