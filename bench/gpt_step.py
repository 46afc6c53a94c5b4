"""Time per training step of gpt5: the solution's manual backward against loss.backward().

The two-block GPT at the exercise's size (batch 32, 8 characters, n_embd 16, two heads), float32 as
`ninja check gpt5` trains it; each step is the forward, the gradients (solutions/gpt5.py's
forward_backward, or autograd on the trusted forward) and the same Adam update. Blocks of steps
alternate between the two so that a busy machine slows both alike; on the CPU torch runs on one
thread, as the training does. Prints the median time a step of each and the ratio manual / autograd.

    .venv/bin/python bench/gpt_step.py [--device cuda] [--rounds 10] [--block 100] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

from ninja import runner
from ninja.gpt import data, train
from ninja.registry import EXERCISES
from ninja.settings import Settings
from ninja.tapped import context
from ninja.training import pick_device
from ninja.watchdog import one_thread

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "gpt5.py"


def manual_step_function():
    """forward_backward from the solution file, run as ninja runs a learner's file."""
    with context.running(Settings(), None, EXERCISES["gpt5"]):
        run = runner.run_file(SOLUTION)
    if run.error is not None:
        sys.exit(f"{SOLUTION}: {run.error.kind}: {run.error.message}")
    return run.namespace["forward_backward"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_block(step_fn, params, state, batches, device) -> float:
    """Seconds a step, over one block of steps (forward, gradients, Adam)."""
    sync(device)
    start = time.perf_counter()
    for idx, targets in batches:
        loss, grads = step_fn(params, idx, targets)
        train.adam(params, grads, state, train.LEARNING_RATE)
    sync(device)
    return (time.perf_counter() - start) / len(batches)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=100, help="steps a block")
    parser.add_argument("--batch-size", type=int, default=Settings().batch_size, help="the exercise's: 32")
    args = parser.parse_args(argv)
    device, why = pick_device(args.device)
    if why:
        print(f"error: {why.split(', so')[0]}", file=sys.stderr)
        return 2
    settings = Settings(batch_size=args.batch_size)
    stream = data.splits()["train"]
    g = torch.Generator().manual_seed(settings.seed)
    batches = [tuple(t.to(device) for t in data.batch(stream, g, settings.batch_size)) for _ in range(args.block)]
    manual = manual_step_function()
    runs = {"manual": (manual, train.initial(settings, device), {}),
            "autograd": (train.autograd_step, train.initial(settings, device), {})}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in runs}
    cores = torch.get_num_threads()
    with one_thread() if device.type == "cpu" else contextlib.nullcontext():
        for step_fn, params, state in runs.values():  # warm-up: allocations, kernels
            with torch.no_grad():
                timed_block(step_fn, params, state, batches[:10], device)
        for _ in range(args.rounds):
            for name, (step_fn, params, state) in runs.items():
                with torch.no_grad():
                    times[name].append(timed_block(step_fn, params, state, batches, device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, 1 thread of {cores}"
    print(
        f"gpt5 step (batch {settings.batch_size}, T {data.BLOCK_SIZE}, float32) on {device} ({name}), torch {torch.__version__}"
    )
    for key, values in times.items():
        print(
            f"  {key:8s} {statistics.median(values) * 1e3:7.3f} ms a step (median of {args.rounds} blocks of {args.block})"
        )
    ratio = statistics.median(times["manual"]) / statistics.median(times["autograd"])
    print(f"  ratio manual / autograd: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
