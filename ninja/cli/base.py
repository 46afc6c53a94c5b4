"""What every command shares: the consoles, the program's name, and finding the exercise,
the learner's file and the settings from what was typed. Usage errors exit 2 from here."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

console = Console(emoji=False)  # no :smile: codes in messages (and no emoji table to import)
errors = Console(stderr=True, emoji=False)

_prog = "ninja"  # the name this program was called by (main sets it): backprop-ninja where ninja is the build system


def prog() -> str:
    """The name to write in usage lines and advice: what the learner typed."""
    return _prog


def set_prog(name: str) -> None:
    global _prog
    _prog = name


def program_name(argv0: str) -> str:
    """`ninja`, `backprop-ninja`, or `python -m ninja`: what the learner typed, for usage lines and hints."""
    name = Path(argv0).name
    if name in ("__main__.py", "__main__"):
        return "python -m ninja"
    return name.removesuffix(".exe") if name.removesuffix(".exe") in ("ninja", "backprop-ninja") else "ninja"


def epilog() -> str:
    return (
        f"Example: [bold]{prog()} init backprop[/], then [bold]cd backprop && {prog()} watch exercise1[/]. "
        "Installed as [bold]ninja[/] and as [bold]backprop-ninja[/], for machines where the ninja build system "
        "owns the name `ninja`."
    )


class UsageExit(typer.Exit):
    """Exit 2, keeping the message: what `check --format json` prints as its one object."""

    def __init__(self, message: str):
        super().__init__(2)
        self.usage_error = message


def fail_usage(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return UsageExit(message)


def quoted(path) -> str:
    import shlex

    return shlex.quote(str(path))


def every_exercise(workspace: Optional[Path] = None) -> dict:
    """The bundled exercises and those the workspace's ninja.toml registers ([exercises.NAME] file = ...)."""
    from ninja.registry import ExerciseFileError, exercises

    try:
        return exercises(workspace)
    except ExerciseFileError as e:
        raise fail_usage(str(e)) from None


def complete_exercise(incomplete: str) -> list[str]:
    from ninja.registry import EXERCISES, ExerciseFileError, exercises

    try:
        known = exercises()
    except ExerciseFileError:
        known = EXERCISES
    return [name for name in known if name.startswith(incomplete)]


def exercise_named(name: str):
    from ninja.registry import EXERCISES, ExerciseFileError, UnknownExercise, find

    try:
        return find(name)
    except ExerciseFileError as e:
        raise fail_usage(str(e)) from None
    except UnknownExercise as e:
        stem = Path(name.replace("\\", "/")).name.removesuffix(".py").removesuffix(".ipynb")
        if stem != name and stem in EXERCISES:  # a path where an exercise name goes
            raise fail_usage(f"no exercise named {name!r}. {file_advice(stem, Path(name))}") from None
        raise fail_usage(str(e)) from None


def file_advice(exercise: str, path: Path) -> str:
    """What to type for a file given where the exercise's name goes: only what would work."""
    if path.is_file():
        return f"To check a file, name its exercise: {prog()} check {exercise} --file {quoted(path)}"
    if learner_path(exercise_named(exercise), None).is_file():
        return f"Your {exercise} file is found without naming it: {prog()} check {exercise}"
    return f"There is no file {path}; the exercise's name is {exercise}: {prog()} check {exercise} --file PATH"


def learner_path(exercise, workspace: Optional[Path]) -> Path:
    from ninja.workspace import WorkspaceError, exercise_file

    try:
        return exercise_file(exercise.name, workspace)
    except WorkspaceError as e:
        raise fail_usage(str(e)) from None


def learner_file(exercise, file: Optional[Path], workspace: Optional[Path] = None) -> Path:
    """--file, else the exercise's file in the workspace; it must be there, and be readable."""
    path = file if file is not None else learner_path(exercise, workspace)
    if path.is_dir():
        raise fail_usage(f"{path} is a folder: give a file, like {path / (exercise.name + '.py')}")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        advice = "" if file else missing_advice(exercise, path)
        raise fail_usage(f"cannot read {path}: {e.strerror or e}{advice}") from None
    return path


def missing_advice(exercise, path: Path) -> str:
    """After 'cannot read exercises/exercise1.py': how to get it, never a nested exercises/exercises/."""
    from ninja.workspace import find_root

    if find_root() is not None:  # a workspace without this file: put its template back there
        return f" (put its template there with `{prog()} reset {exercise.name}`, or pass --file PATH)"
    return f" (create a workspace here with `{prog()} init`, or pass --file PATH or --workspace DIR)"


def settings_from(seed: Optional[int], batch_size: int, data: Optional[Path]):
    from ninja.settings import Settings

    if batch_size < 2:
        raise fail_usage("--batch-size must be at least 2 (batchnorm's variance divides by n-1)")
    if seed is not None and not 0 <= seed < 2**62:
        raise fail_usage("--seed must be a whole number from 0 to 2**62")
    if data is not None and not data.is_file():
        from ninja.workspace import why_unreadable

        raise fail_usage(f"cannot read names file {data}: {why_unreadable(data)}")
    return Settings(batch_size=batch_size, data=data) if seed is None else Settings(seed, batch_size, data)


def exit_code(report) -> int:
    """0 all pass, 1 something does not, 130 (as shells count Ctrl-C) when the learner stopped it."""
    return 130 if interrupted(report) else 0 if report.passed else 1


def interrupted(report) -> bool:
    return report.error is not None and report.error.kind == "KeyboardInterrupt"


def watched_check(exercise, path: Path, settings, timeout: Optional[float] = None):
    """check_file, saying on stderr that it runs when it takes a while, and stopped after `timeout`
    seconds. A file stopped where its run is no result (inside a CS231n function) exits 1 here."""
    from ninja.memory import capped
    from ninja.runner import TimedOut, error_from_exception
    from ninja.watchdog import Watchdog, one_thread

    if timeout is not None and timeout <= 0:
        raise fail_usage("--timeout takes a number of seconds above 0")
    try:
        # one thread: a check's tensors are small, and torch's thread pool costs tens of ms to start at
        # its first matmul, max and tanh; grading runs on one thread too, so the last bits of a sum agree
        with Watchdog(path, timeout), one_thread(), capped():  # capped: a file's memory (ninja/memory.py)
            return check_file(exercise, path, settings)
    except TimedOut as e:
        where = stopped_in(e, path if isinstance(path, list) else [path])
        error = error_from_exception(e, where, where.read_text(encoding="utf-8", errors="replace"))
        errors.print(f"{error.where}: {error.message}", style="bold magenta", highlight=False, markup=False)
        if error.source:
            errors.print(f"    {error.source}", style="magenta", highlight=False, markup=False)
        raise typer.Exit(1) from None


def stopped_in(exc: BaseException, paths: list[Path]) -> Path:
    """Of the learner's files, the one the interrupted code was in (the deepest frame in one)."""
    import traceback

    files = {str(p): p for p in paths}
    frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(exc.__traceback__)]
    found = [files[name] for name in frames if name in files]
    return found[-1] if found else paths[0]


def check_file(exercise, path: Path, settings):
    """ninja.registry.check_file, with an unreadable notebook as a usage error."""
    from ninja.registry import check_file

    if isinstance(path, list):  # CS231n: several files, checked together
        return exercise.check(path, settings)
    if path.suffix != ".ipynb":  # nbformat is slow to import: only for notebooks
        return check_file(exercise, path, settings)
    from ninja import notebook

    try:
        return check_file(exercise, path, settings)
    except notebook.NotebookError as e:
        raise fail_usage(str(e)) from None
