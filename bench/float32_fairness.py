"""How far a right float32 answer is from the float64 reference, against autograd's own float32
rounding on the same tensors: the ratio that the float32 tolerance (10 times autograd's rounding,
ninja/makemore/exercise.py Precision) stands on.

Runs the reference solution's backward in float32 on float32 parameters and batches of 8, 32 and
64 (three seeds each) and prints, per batch size, the largest and smallest ratio
max|answer - float64 reference| / max|float32 autograd - float64 reference| over the 26 gradients.

    .venv/bin/python bench/float32_fairness.py
"""

from pathlib import Path

import torch
import torch.nn.functional as F

from ninja.makemore import PARAMETER_NAMES, batch, forward, parameters, reference_gradients, use
from ninja.makemore.exercise1 import EXERCISE
from ninja.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def backward_lines() -> str:
    text = (ROOT / "solutions" / "exercise1.py").read_text()
    return text[text.index("dlogprobs = torch.zeros_like") : text.index("\nif __name__")]


def ratios(settings: Settings) -> list[float]:
    with use(settings):
        tensors = dict(zip(PARAMETER_NAMES, parameters(), strict=True))
        Xb, Yb = batch()
    tensors |= {"Xb": Xb, "Yb": Yb}
    namespace = {"torch": torch, "F": F, "n": Xb.shape[0], **tensors}
    with torch.no_grad():
        forward(
            **{k: tensors[k] for k in PARAMETER_NAMES}, Xb=Xb, Yb=Yb, tap=lambda name, t: namespace.setdefault(name, t)
        )
    exec(backward_lines(), namespace)
    _, exact = reference_gradients(settings, EXERCISE.checked, tensors)
    _, rounded = reference_gradients(settings, EXERCISE.checked, tensors | {"dtype": torch.float32})
    out = []
    for name in EXERCISE.checked:
        answer = namespace[f"d{name}"].double().reshape(exact[name].shape)
        noise = (rounded[name].double() - exact[name]).abs().max().item()
        out.append((answer - exact[name]).abs().max().item() / max(noise, 1e-300))
    return out


def main() -> None:
    for n in (8, 32, 64):
        found = [
            r for seed in (2147483647, 1, 42) for r in ratios(Settings(seed=seed, batch_size=n, dtype=torch.float32))
        ]
        print(
            f"batch {n:3d}: ratio answer/autograd rounding from {min(found):.2f} to {max(found):.2f} over {len(found)} gradients"
        )


if __name__ == "__main__":
    main()
