"""`ninja check gpt5`'s training run for people and tools: the options, a progress bar, the learner's
loss curve against autograd's as sparklines and a picture, the validation losses and the samples."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

from rich.columns import Columns
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ninja import runner
from ninja.exercise import OptionError
from ninja.gpt import train
from ninja.tapped import context
from ninja.training import StepFailed, pick_device

PLOT_FORMATS = (".png", ".svg", ".pdf")
BARS = "▁▂▃▄▅▆▇█"
FOLLOWS = 0.05  # the two curves' last tenths may differ by this much (float32 rounding, amplified by Adam)


@dataclass(frozen=True)
class TrainingRequest:
    steps: int
    device: str  # "cpu" or "cuda"
    plot: Path | None


def request(steps: str | None, device: str | None, plot: Path | None) -> TrainingRequest:
    """--steps, --device and --plot, checked before anything runs (OptionError says why not)."""
    try:
        count = train.DEFAULT_STEPS if steps is None else int(steps.replace(",", "").replace("_", ""))
    except ValueError:
        count = 0
    if count < 1:
        raise OptionError(f"--steps takes a positive number of steps, not {steps!r}")
    if plot is not None and plot.suffix.lower() not in PLOT_FORMATS:
        raise OptionError(f"--plot {plot}: name a {', '.join(PLOT_FORMATS)} file")
    if plot is not None and not (plot.parent if str(plot.parent) else Path(".")).is_dir():
        raise OptionError(f"--plot {plot}: there is no folder {plot.parent}")
    if plot is not None and importlib.util.find_spec("matplotlib") is None:
        raise OptionError("--plot needs matplotlib: pip install 'backprop-ninja[plot]' (or pip install matplotlib)")
    return TrainingRequest(count, device or "cpu", plot)


def learner_function(exercise, path: Path, settings):
    """The forward_backward the learner's file defines (None when it defines none)."""
    with context.running(settings, None, exercise):
        run = runner.run_file(path)
    fn = run.namespace.get("forward_backward")
    return fn if callable(fn) else None


def sparkline(values: list[float], low: float, high: float) -> str:
    span = (high - low) or 1.0
    return "".join(BARS[min(len(BARS) - 1, max(0, round((v - low) / span * (len(BARS) - 1))))] for v in values)


def save_plot(result: train.Training, path: Path) -> None:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for losses, label in ((result.autograd_losses, "autograd"), (result.losses, "your backward")):
        window, curve = train.curve(losses)
        ax.plot([(k + 0.5) * window for k in range(len(curve))], curve, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean over windows of steps)")
    ax.set_title(f"gpt5: {result.steps:,} steps, val {result.val_loss:.4f} (autograd's {result.autograd_val_loss:.4f})")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def tail_gap(result: train.Training) -> float:
    """How far apart the two curves end: the mean loss over the last tenth of the steps."""
    tail = max(1, result.steps // 10)
    return abs(sum(result.losses[-tail:]) - sum(result.autograd_losses[-tail:])) / tail


def summary(result: train.Training, plot: Path | None) -> dict:
    return {"steps": result.steps, "device": result.device, "seconds": round(result.seconds, 3),
            "curve": train.curve(result.losses)[1], "autograd_curve": train.curve(result.autograd_losses)[1],
            "val_loss": result.val_loss, "autograd_val_loss": result.autograd_val_loss, "gap": tail_gap(result),
            "samples": result.samples, "plot": str(plot) if plot else None}  # fmt: skip


def run(exercise, path: Path, settings, wanted: TrainingRequest, console: Console | None,
        errors: Console) -> tuple[dict, int]:  # fmt: skip
    """Train with the learner's forward_backward and with autograd: (the summary, the exit code)."""
    device, why = pick_device(wanted.device)
    if why:
        errors.print(f"[yellow]note:[/] {escape(why)}", highlight=False)
    step_fn = learner_function(exercise, path, settings)
    try:
        result = progress(console, step_fn, settings, wanted.steps, device)
    except KeyboardInterrupt:
        errors.print("[yellow]training interrupted[/]", highlight=False)
        return {"interrupted": True}, 130
    except StepFailed as e:
        error = runner.error_from_exception(e.cause, path, path.read_text(encoding="utf-8"))
        errors.print(Text(f"training stopped at step {e.step}: {error.where}: {error.kind}: {error.message}",
                          style="bold magenta"))  # fmt: skip
        return {"stopped_at_step": e.step, "error": {"kind": error.kind, "message": error.message}}, 1
    if wanted.plot:
        save_plot(result, wanted.plot)
    if console is not None:
        show(console, result, wanted.plot)
    finite = math.isfinite(result.val_loss)
    if not finite or tail_gap(result) > FOLLOWS:
        errors.print("[bold red]your loss curve leaves autograd's:[/] a gradient is wrong at float32 or in a "
                     "batch the check did not see", highlight=False)  # fmt: skip
        return summary(result, wanted.plot), 1
    return summary(result, wanted.plot), 0


def progress(console: Console | None, step_fn, settings, steps: int, device) -> train.Training:
    if console is None:
        return train.train(step_fn, settings, steps, device)
    console.print(f"[bold]training with your backward pass, then with autograd's:[/] {steps:,} steps of batch "
                  f"{settings.batch_size}, Adam lr {train.LEARNING_RATE}, on {device}", highlight=False)  # fmt: skip
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("your backward", total=steps, loss="-")

        def on_progress(i: int, loss: float) -> None:
            bar.update(task, completed=i + 1, loss=f"{loss:.4f}")

        return train.train(step_fn, settings, steps, device, on_progress, max(1, steps // 100))


def show(console: Console, result: train.Training, plot: Path | None) -> None:
    mine, reference = train.curve(result.losses, 50)[1], train.curve(result.autograd_losses, 50)[1]
    low, high = min(mine + reference), max(mine + reference)
    per_step = result.seconds / result.steps * 1e3
    console.print(f"{result.steps:,} steps on {result.device} in {result.seconds:.1f} s ({per_step:.2f} ms a step "
                  "with your backward)", highlight=False)  # fmt: skip
    console.print(f"yours     {mine[0]:.2f} [cyan]{sparkline(mine, low, high)}[/] {mine[-1]:.2f}", highlight=False)
    console.print(f"autograd  {reference[0]:.2f} [green]{sparkline(reference, low, high)}[/] {reference[-1]:.2f}  "
                  f"[dim](loss over windows of steps; the last tenths differ by {tail_gap(result):.4f})[/]",
                  highlight=False)  # fmt: skip
    if plot:
        console.print(f"training curves written to {escape(str(plot))}", highlight=False)
    console.print(
        f"[bold]val {result.val_loss:.4f}[/] (autograd's run: {result.autograd_val_loss:.4f})", highlight=False
    )
    console.print(Text(f"{len(result.samples)} names sampled from your model:", style="bold"))
    console.print(Columns(result.samples or ["(none)"], padding=(0, 2)))
