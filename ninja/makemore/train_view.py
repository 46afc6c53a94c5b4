"""`ninja check exercise4`'s training run for people and tools: the options, a rich progress bar,
the loss every so many steps, the curve as a sparkline and a picture, the losses and the samples."""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path

from rich.columns import Columns
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from ninja import runner
from ninja.exercise import OptionError  # a training option that cannot work
from ninja.makemore import train
from ninja.training import StepFailed, pick_device

PLOT_FORMATS = (".png", ".svg", ".pdf")
BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class TrainingRequest:
    steps: int
    device: str  # "cpu" or "cuda"
    plot: Path | None


def parse_steps(text: str | None) -> int:
    if text is None:
        return train.DEFAULT_STEPS
    if text.strip().lower() == "full":
        return train.FULL_STEPS
    try:
        steps = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        steps = 0
    if steps < 1:
        raise OptionError(f"--steps takes a positive number of steps or 'full' ({train.FULL_STEPS:,}), not {text!r}")
    return steps


def check_plot_path(plot: Path) -> None:
    """Fail before training, not after it."""
    if plot.suffix.lower() not in PLOT_FORMATS:
        raise OptionError(f"--plot {plot}: name a {', '.join(PLOT_FORMATS)} file")
    folder = plot.parent if str(plot.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise OptionError(f"--plot {plot}: cannot write in {folder}")
    if plot.is_dir():
        raise OptionError(f"--plot {plot}: that is a folder; name a file")
    if importlib.util.find_spec("matplotlib") is None:
        raise OptionError("--plot needs matplotlib: pip install 'backprop-ninja[plot]' (or pip install matplotlib)")
    try_writing(plot)


def try_writing(plot: Path) -> None:
    """Open the file for writing and remove it again if it was not there: os.access says yes to root
    even where nothing can be written (/proc), and a failure after a long training run is too late."""
    existed = plot.exists()
    try:
        with plot.open("ab"):  # appends nothing: a picture already there is kept until it is replaced
            pass
        if not existed:
            plot.unlink()
    except OSError as e:
        raise OptionError(f"--plot {plot}: cannot write it: {e.strerror or e}") from None


def request(steps: str | None, device: str | None, plot: Path | None) -> TrainingRequest:
    if plot is not None:
        check_plot_path(plot)
    return TrainingRequest(parse_steps(steps), device or "cpu", plot)


def sparkline(values: list[float], width: int = 60) -> str:
    """The curve in `width` block characters, each the mean of its share of the values."""
    width = min(width, len(values))  # fewer values than characters: one character each, none empty
    if width == 0:
        return ""
    chunks = [values[i * len(values) // width : (i + 1) * len(values) // width] for i in range(width)]
    means = [sum(c) / len(c) for c in chunks]
    low, high = min(means), max(means)
    span = (high - low) or 1.0
    return "".join(BARS[round((m - low) / span * (len(BARS) - 1))] for m in means)


def save_plot(values: list[float], window: int, path: Path, title: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    ax.plot([(k + 0.5) * window for k in range(len(values))], values)
    ax.set_xlabel("step")
    ax.set_ylabel(f"log10 loss, mean over {window:,} steps")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def summary(result: train.Training, curve: list[float], window: int, plot: Path | None) -> dict:
    return {
        "steps": result.steps,
        "device": result.device,
        "seconds": round(result.seconds, 3),
        "train_loss": result.train_loss,
        "val_loss": result.val_loss,
        "samples": result.samples,
        "curve_window": window,
        "curve": curve,  # log10 loss, mean over each window of steps
        "plot": str(plot) if plot else None,
    }


def run(
    exercise, path: Path, settings, wanted: TrainingRequest, console: Console | None, errors: Console
) -> tuple[dict, int]:
    """Train with the learner's forward_backward: (the summary for JSON, the exit code). `console`
    None: no progress or text, for --format json."""
    device, why = pick_device(wanted.device)
    if why:
        errors.print(f"[yellow]note:[/] {escape(why)}", highlight=False)
    _, step_fn = exercise.learner_function(path, settings)
    steps, every = wanted.steps, max(1, wanted.steps // 100)
    try:
        if console is None:
            result = train.train(step_fn, settings, steps, exercise.n_hidden, device)
        else:
            result = train_with_progress(console, step_fn, settings, steps, every, exercise.n_hidden, device)
    except KeyboardInterrupt:
        errors.print("[yellow]training interrupted[/]", highlight=False)
        return {"interrupted": True}, 130
    except StepFailed as e:
        error = runner.error_from_exception(e.cause, path, path.read_text(encoding="utf-8"))
        errors.print(
            Text(
                f"training stopped at step {e.step}: {error.where}: {error.kind}: {error.message}", style="bold magenta"
            )
        )
        if error.source:
            errors.print(Text(f"    {error.source}", style="magenta"))
        return {
            "stopped_at_step": e.step,
            "error": {"kind": error.kind, "message": error.message, "file": error.path, "line": error.line},
        }, 1
    window, curve = train.curve(result.lossi)
    plot, plot_error = wanted.plot, None
    if plot:
        title = f"exercise 4: {counted(steps)}, train {result.train_loss:.4f}, val {result.val_loss:.4f}"
        try:
            save_plot(curve, window, plot, title)
        except OSError as e:  # it could be written before training: the disk filled, the folder went, ...
            plot, plot_error = None, f"--plot {wanted.plot}: cannot write the training curve: {e.strerror or e}"
    if console is not None:
        show(console, result, curve, window, plot)
    done = summary(result, curve, window, plot)
    if plot_error:  # the run's results are above; the picture is what is missing (exit 2, an environment error)
        errors.print(f"[bold red]error:[/] {escape(plot_error)}", highlight=False)
        return done | {"plot_error": plot_error}, 2
    if not (math.isfinite(result.train_loss) and math.isfinite(result.val_loss)):
        errors.print("[bold red]training diverged:[/] the loss is not a finite number", highlight=False)
        return done, 1
    return done, 0


def train_with_progress(console: Console, step_fn, settings, steps: int, every: int, n_hidden: int, device):
    print_every = every * 10  # ten loss lines a run, as the notebook prints every 10,000 of 200,000
    console.print(
        f"[bold]training with your backward pass:[/] {counted(steps)} of batch {settings.batch_size}, "
        f"n_hidden {n_hidden}, on {device}; {learning_rates(steps)}",
        highlight=False,
    )
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("training", total=steps, loss="-")

        def on_progress(i: int, loss: float) -> None:
            progress.update(task, completed=i + 1, loss=f"{loss:.4f}")
            if i % print_every == 0:
                progress.console.print(f"{i:7d}/{steps:7d}: {loss:.4f}", highlight=False)

        return train.train(step_fn, settings, steps, n_hidden, device, on_progress, every)


def counted(steps: int) -> str:
    return f"{steps:,} step" if steps == 1 else f"{steps:,} steps"


def learning_rates(steps: int) -> str:
    decay = train.decay_step(steps)
    return f"lr 0.1, then 0.01 from step {decay:,}" if decay < steps else "lr 0.1"


def show(console: Console, result: train.Training, curve: list[float], window: int, plot: Path | None) -> None:
    per_step = result.seconds / result.steps * 1e3
    console.print(f"{counted(result.steps)} on {result.device} in {result.seconds:.1f} s ({per_step:.2f} ms a step)")
    if curve:
        console.print(
            f"loss {10 ** curve[0]:.2f} [cyan]{sparkline(curve)}[/] {10 ** curve[-1]:.2f}  "
            f"[dim](the curve: log10 of the loss, mean over windows of {counted(window)}; at its ends: the loss)[/]",
            highlight=False,
        )
    if plot:
        console.print(f"training curve written to {escape(str(plot))}", highlight=False)
    console.print(
        f"[bold]train {result.train_loss:.4f}  val {result.val_loss:.4f}[/]  "
        "[dim](batchnorm calibrated on the training set; the notebook reaches train 2.07, val 2.11 "
        f"after {train.FULL_STEPS:,} steps on makemore's names.txt)[/]",
        highlight=False,
    )
    console.print(Text(f"{len(result.samples)} names sampled from your model:", style="bold"))
    console.print(Columns(result.samples or ["(none)"], padding=(0, 2)))
