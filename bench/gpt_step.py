"""Time per training step of gpt5: the solution's manual backward against loss.backward().

The two-block GPT at the exercise's size (batch 32, 8 characters, n_embd 16, two heads), float32 as
`ninja check gpt5` trains it; each step is the forward, the gradients (solutions/gpt5.py's
forward_backward, or autograd on the trusted forward) and the same Adam update. Blocks of steps
alternate between the two so that a busy machine slows both alike; on the CPU torch runs on one
thread, as the training does. Prints the median time a step of each and the ratio manual / autograd:
on the CPU in CPU time (the process's: the work a step does, not the time it waited for a core on a
busy machine; wall-clock time beside it), on a GPU in wall-clock time.

    .venv/bin/python bench/gpt_step.py [--device cuda] [--rounds 10] [--block 100] [--batch-size 32] [--profile]
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


def timed_block(step_fn, params, adam, batches, device) -> dict[str, float]:
    """Seconds a step, wall-clock and the process's CPU time, over one block of steps (forward,
    gradients, Adam)."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    for idx, targets in batches:
        loss, grads = step_fn(params, idx, targets)
        adam.step(grads)
    sync(device)
    return {"wall": (time.perf_counter() - wall) / len(batches), "cpu": (time.process_time() - cpu) / len(batches)}


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}")
    return int(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--rounds", type=positive, default=10)
    parser.add_argument("--block", type=positive, default=100, help="steps a block")
    parser.add_argument("--batch-size", type=positive, default=Settings().batch_size, help="the exercise's: 32")
    parser.add_argument("--profile", action="store_true", help="then where each run's time goes, by torch operation")
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
    runs = {}
    for name, step_fn in (("manual", manual), ("autograd", train.autograd_step)):
        params = train.initial(settings, device)
        runs[name] = (step_fn, params, train.Adam(params, train.LEARNING_RATE))
    times: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    cores = torch.get_num_threads()
    with one_thread() if device.type == "cpu" else contextlib.nullcontext():
        for step_fn, params, adam in runs.values():  # warm-up: allocations, kernels
            with torch.no_grad():
                timed_block(step_fn, params, adam, batches[:10], device)
        for _ in range(args.rounds):
            for name, (step_fn, params, adam) in runs.items():
                with torch.no_grad():
                    times[name].append(timed_block(step_fn, params, adam, batches, device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, 1 thread of {cores}"
    print(
        f"gpt5 step (batch {settings.batch_size}, T {data.BLOCK_SIZE}, float32) on {device} ({name}), torch {torch.__version__}"
    )
    report(times, device, f"median of {args.rounds} blocks of {args.block}")
    if args.profile:
        with one_thread() if device.type == "cpu" else contextlib.nullcontext():
            for name, run in runs.items():
                print(f"\n{name}: one block of {args.block} steps, torch.profiler, by self CPU time")
                print(profiled(*run, batches, device))
    return 0


def profiled(step_fn, params, adam, batches, device) -> str:
    """torch.profiler's table of one block: the operations that take the most time, with their
    counts, and how many operations a step runs (those no other operation called)."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.no_grad(), torch.profiler.profile(activities=activities) as profile:
        timed_block(step_fn, params, adam, batches, device)
    outermost = [e for e in profile.events() if e.name.startswith("aten::")
                 and not (e.cpu_parent and e.cpu_parent.name.startswith("aten::"))]  # fmt: skip
    table = profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    return f"{table}{len(outermost) / len(batches):.0f} torch operations a step, views and Adam's included"


def report(times: dict[str, list[dict[str, float]]], device: torch.device, blocks: str) -> None:
    """Each run's median time a step and the ratio: in CPU time on the CPU (wall-clock beside it)."""
    clocks = ("cpu", "wall") if device.type == "cpu" else ("wall",)
    median = {
        (run, clock): statistics.median(t[clock] for t in values) for run, values in times.items() for clock in clocks
    }
    label = {"cpu": "CPU time", "wall": "wall-clock"}
    for run in times:
        beside = "".join(f"; {label[c]} {median[run, c] * 1e3:.3f} ms" for c in clocks[1:])
        print(f"  {run:8s} {median[run, clocks[0]] * 1e3:7.3f} ms a step ({label[clocks[0]]}{beside}), {blocks}")
    ratio = {c: median["manual", c] / median["autograd", c] for c in clocks}
    beside = "".join(f"; {label[c]} {ratio[c]:.2f}x" for c in clocks[1:])
    print(f"  ratio manual / autograd: {ratio[clocks[0]]:.2f}x ({label[clocks[0]]}{beside})")


if __name__ == "__main__":
    sys.exit(main())
