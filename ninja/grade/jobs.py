"""One graded job, as the parent prepares it: the submission read by the parent (capped, no
links), audited, and copied with the given gradients into a private folder the child works in;
the folder is removed once the job has ended (and, with it, every process it started)."""

from __future__ import annotations

import ast
import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ninja import notebook
from ninja.grade import audit, discover, locks, reading
from ninja.notebook import NotebookError
from ninja.results import Report


class NotGradable(ValueError):
    """The submission cannot be handed to a child: the message says why, for that submission only."""


@dataclass
class Prepared:
    """What the parent keeps of one job, and the job a child gets."""

    job: dict
    source: str  # the graded file as the parent read it: the judge reads this, never the child's copy
    original: str  # the path the student handed in, that messages name
    point_back: Callable[[Report], Report] = lambda report: report
    findings: list[audit.Finding] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)  # the modules it imports: the warm worker imports those first


class Scratch:
    """The run's folder of job folders: searchable by the slots' uids, listable by none. It is
    locked (flock) while the run lives: the folder of a grader that was killed (SIGKILL), copies of
    its class's submissions, is removed by the next run in the same place."""

    PREFIX = "ninja-grade-"

    def __init__(self):
        base = reachable_temp()
        while True:
            self.root = Path(tempfile.mkdtemp(prefix=self.PREFIX, dir=base))
            try:
                self.lock = locks.hold(str(self.root))
                break
            except OSError:  # swept by another run between mkdtemp and flock: make another
                continue
        os.chmod(self.root, 0o711)
        for stale in locks.abandoned(base, self.PREFIX):
            shutil.rmtree(stale, ignore_errors=True)  # (rmtree follows no link)

    def folder(self, i: int) -> Path:
        path = self.root / f"job-{i}"
        path.mkdir(mode=0o700)
        return path

    def remove(self, i: int) -> None:
        shutil.rmtree(self.root / f"job-{i}", ignore_errors=True)  # rmtree does not follow links

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        os.close(self.lock)


def reachable_temp() -> str:
    """Where the job folders go: the temporary folder, unless the grader is root and a folder above
    it is private (a per-user TMPDIR, mode 0700), which the slots' uids could not pass through;
    then the first shared one that they can. GradeError naming the fix when there is none."""
    wanted = tempfile.gettempdir()
    if os.geteuid() != 0 or searchable(wanted):
        return wanted
    for shared in ("/tmp", "/var/tmp", "/dev/shm"):
        if searchable(shared) and os.access(shared, os.W_OK):
            return shared
    raise discover.GradeError(
        f"the temporary folder {wanted} is private (a folder above it is not searchable by other users), and "
        "no shared one (/tmp, /var/tmp, /dev/shm) is usable: the sandbox's uids could not reach their job "
        "folders; set TMPDIR to a folder every user can search (chmod o+x on it and each folder above it)"
    )


def searchable(folder: str) -> bool:
    """Whether any user may pass through `folder` and every folder above it."""
    path = os.path.realpath(folder)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except OSError:
            return False
        if path == os.path.dirname(path):
            return True
        path = os.path.dirname(path)


def prepare(i: int, exercise, path: Path, submission: str, scratch: Scratch, given: dict) -> Prepared:
    """Read, audit and copy one submission; NotGradable with the reason for anything wrong with
    it (a link, a FIFO, a huge or malformed notebook: RecursionError and MemoryError included)."""
    root = Path(submission) if Path(submission).is_dir() else path.parent
    try:
        data = reading.read_capped(path, root)
        folder = scratch.folder(i)
        text = None if path.suffix == ".ipynb" else reading.python_text(data, path)
        cells = graded_as_cells(exercise, data, path, text, str(folder / f"{exercise.name}.py"))
        siblings: dict[str, bytes] = {}
        if cells is not None:
            (text, point_back), relative = cells, Path(f"{exercise.name}.py")
        else:
            assert text is not None  # a notebook is always graded by its cells (or raises)
            point_back = lambda report: report  # noqa: E731
            # a folder's other .py files come along (CS231n files import their siblings); a file
            # handed in alone comes alone: the files beside it may be classmates'
            siblings = reading.sibling_sources(root, path) if Path(submission).is_dir() else {}
            relative = path.relative_to(root) if reading.inside(path, root) else Path(path.name)
        source = handed_over(folder / relative, text, path)
        allowed = allowed_imports(exercise, siblings)
        findings = audit.audit(source, str(path), allowed)
        texts: dict[str, str] = {}
        for name, content in siblings.items():
            try:
                texts[name] = handed_over(folder / name, reading.python_text(content, Path(name)), Path(name))
            except reading.Unreadable as e:
                texts[name] = ""
                findings.append(audit.Finding(1, str(e)))
        imports = audit.imported_modules(source, graded_only=True)
        for name in imported_closure(str(relative), source, texts):  # what runs: the files it imports
            findings += [audit.Finding(f.line, f"{name}: {f.what}") for f in audit.audit(texts[name], name, allowed)]
        for k, table in enumerate(given):
            for name, array in table.items():
                np.save(folder / f".given-{k}-{name}.npy", array, allow_pickle=False)
    except reading.Unreadable as e:
        raise NotGradable(str(e)) from None
    except NotebookError as e:
        raise NotGradable(str(e)) from None
    except (RecursionError, MemoryError) as e:
        raise NotGradable(f"{path} is too deeply nested or too large to read ({type(e).__name__})") from None
    except (OSError, ValueError, UnicodeError) as e:
        raise NotGradable(f"cannot prepare {path}: {e}") from None
    job = {"id": i, "submission": submission, "exercise": exercise.name, "path": str(folder / relative),
           "dir": str(folder)}  # fmt: skip
    return Prepared(job, source, str(path), point_back, findings, imports)


def allowed_imports(exercise, siblings: dict[str, bytes]) -> set[str]:
    """Beyond the audit's allowlist: the template's own imports and the submission's other files
    (as modules: layers.py is `layers`, cs231n/layers.py `cs231n.layers`)."""
    own = {str(Path(name).with_suffix("")).replace(os.sep, ".") for name in siblings}
    return own | template_imports(exercise.template.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=16)
def template_imports(text: str) -> frozenset[str]:
    """A template's imports, parsed once (every submission of the exercise is audited against them)."""
    return frozenset(audit.imported_modules(text))


def imported_closure(start: str, source: str, files: dict[str, str]) -> list[str]:
    """The submission's other files that the graded file imports, directly or through each other
    (with the packages' __init__.py): the only ones that run. A file imports a sibling by a relative
    import (`from ..layers import *`) or by its module name (`from cs231n.layers import *`, `import
    layers`), matched against the files' paths."""
    seen: list[str] = []
    if not files:  # a file handed in alone, or a folder with no other .py: nothing to look for
        return seen
    queue = [(start, source)]
    while queue:
        importer, text = queue.pop()
        for candidate in local_modules(importer, text, files):
            if candidate not in seen:
                seen.append(candidate)
                queue.append((candidate, files[candidate]))
    return seen


def local_modules(importer: str, text: str, files: dict[str, str]) -> set[str]:
    """The files of `files` that `text` (the file `importer`) may import."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    wanted: set[str] = set()  # module paths, a/b/c, relative to the submission or ending a file's path
    here = Path(importer).parent
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            wanted |= {a.name.replace(".", "/") for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here
            for _ in range(max(0, node.level - 1)):
                base = base.parent
            module = (node.module or "").replace(".", "/")
            prefix = str(base / module) if node.level else module
            wanted.add(prefix)
            wanted |= {f"{prefix}/{a.name}".lstrip("/") for a in node.names}  # from . import layers
    found = set()
    for name in files:
        stem = name.removesuffix(".py").removesuffix("/__init__")
        if any(stem == w.lstrip("./") or stem.endswith("/" + w.lstrip("./")) for w in wanted if w):
            found.add(name)
            parts = Path(name).parent.parts
            found |= {f"{'/'.join(parts[:k])}/__init__.py" for k in range(1, len(parts) + 1)} & set(files)
    return found - {importer}


def handed_over(path: Path, text: str, original: Path) -> str:
    """Write `text` where the child compiles it, as UTF-8 with no cookie of its own, and return the
    text the child will read there: exactly what the parent audits and quotes (tokenize's rules on
    both sides, on the same bytes)."""
    program = reading.as_utf8(text)
    write(path, program)
    return reading.python_text(program, original)


def graded_as_cells(
    exercise, data: bytes, path: Path, text: str | None, job_path: str
) -> tuple[str, Callable[[Report], Report]] | None:
    """notebook_program for a notebook (`text` None), or a script with a set-up of its own
    (Exercise.graded_by_cells); None for a file graded as it is, and for a script none of whose cells ninja can tell."""
    if text is not None and not exercise.graded_by_cells(text):
        return None
    try:
        return notebook_program(exercise, data, path, job_path)
    except NotebookError:
        if text is None:
            raise
        return None


def notebook_program(
    exercise, data: bytes, original: Path, job_path: str | None = None
) -> tuple[str, Callable[[Report], Report]]:
    """A notebook's backward cells after the template's forward, parsed in the parent from its
    own copy of the bytes (never the student's path again); `job_path`: where the child runs it,
    which the report's pointers name in the notebook's terms."""
    with tempfile.TemporaryDirectory(prefix="ninja-notebook-") as private:
        copy = Path(private) / f"submission{original.suffix}"
        copy.write_bytes(data)
        try:
            generated = replace(notebook.generate(exercise, copy), notebook=original, path=job_path)  # the student's
        except NotebookError as e:
            raise NotebookError(str(e).replace(str(copy), str(original))) from None
    return generated.program.source, generated.point


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


def map_back(run: dict, folder: str, original: str) -> None:
    """The child's paths (its job folder) put back in the terms of what the student handed in."""
    if isinstance(run.get("path"), str):
        run["path"] = original
    error = run.get("error")
    if isinstance(error, list) and len(error) == 5:
        error[2] = original if isinstance(error[2], str) and error[2].startswith(folder) else error[2]
        if isinstance(error[1], str):
            error[1] = error[1].replace(folder + os.sep, "")
