"""Exercise 4: train the MLP with your own backward pass.

The learner's file defines forward_backward(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb) -> loss, grads.
The check calls it on several batches, under torch.no_grad() as the notebook's loop runs it, and
compares the seven gradients with autograd on the trusted forward; `ninja check` then trains with it.
"""

from __future__ import annotations

import ast
import io
import math
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ninja import collected, engine, makemore, runner
from ninja.engine import UNREACHED, as_tensor
from ninja.makemore import PARAMETER_NAMES, Settings
from ninja.makemore.notebook_spec import NOTEBOOK
from ninja.results import FAIL, PASS, LearnerError, Report, VarResult
from ninja.tapped import diagnose
from ninja.tapped.exercise import Exercise, cached

FUNCTION = "forward_backward"
SIGNATURE = f"{FUNCTION}(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb)"
RETURNS = "loss, [dC, dW1, db1, dW2, db2, dbngain, dbnbias]"
N_HIDDEN = 200  # the notebook's exercise 4 network
DEFAULT_SETTINGS = Settings()


def check_batches(settings: Settings, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`count` batches from the training split; the first is the one makemore.batch() gives."""
    Xtr, Ytr = makemore.dataset("train")
    g = torch.Generator().manual_seed(settings.seed + 1)
    batches = []
    for _ in range(count):
        ix = torch.randint(0, Xtr.shape[0], (settings.batch_size,), generator=g)
        batches.append((Xtr[ix], Ytr[ix]))
    return batches


def reference(params: tuple[torch.Tensor, ...], Xb, Yb) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The trusted forward's loss and autograd's gradient of it for every parameter."""
    with torch.enable_grad():
        leaves = {name: p.clone().requires_grad_() for name, p in zip(PARAMETER_NAMES, params, strict=True)}
        loss = makemore.forward(**leaves, Xb=Xb, Yb=Yb)
        loss.backward()
    return loss.detach(), {name: leaf.grad for name, leaf in leaves.items()}


def learner_error(e: BaseException, path: Path) -> LearnerError:
    error = runner.error_from_exception(e, path, path.read_text(encoding="utf-8"))
    if "does not require grad" in error.message:  # they called loss.backward()
        error.message += f" (autograd is off: {FUNCTION} runs under torch.no_grad(), write the gradients by hand)"
    return error


def call(fn, params, Xb, Yb, path: Path, line: int | None) -> tuple[torch.Tensor | None, dict, LearnerError | None]:
    """Run the learner's function on one batch: (loss, answers by parameter name, error)."""
    unreached = dict.fromkeys(PARAMETER_NAMES, UNREACHED)
    try:
        with torch.no_grad():
            returned = fn(*(p.clone() for p in params), Xb, Yb)
    except Exception as e:  # noqa: BLE001 (the learner's error is a result)
        return None, unreached, learner_error(e, path)
    try:
        loss, grads = returned
        grads = list(grads)
        if len(grads) != len(PARAMETER_NAMES):
            raise ValueError
    except (TypeError, ValueError):
        message = f"{FUNCTION} returned {type(returned).__name__}; it must return {RETURNS}"
        source = runner.source_line(path.read_text(encoding="utf-8"), line)
        return None, unreached, LearnerError("TypeError", message, str(path), line, source)
    return loss, dict(zip(PARAMETER_NAMES, grads, strict=True)), None


# the gradient each parameter's is made from in the solution's chain: where to look when no common
# slip explains a failure (several parameters failing alike point at the gradient they share)
MADE_FROM = {"C": "demb", "W1": "dhprebn", "b1": "dhprebn", "W2": "dlogits", "b2": "dlogits",
             "bngain": "dhpreact", "bnbias": "dhpreact"}  # fmt: skip


def diagnosed(v: VarResult, answer, grad: torch.Tensor, Xb: torch.Tensor) -> None:
    """A failing parameter gradient as a root cause, with the kind of mistake it looks like. All
    seven are leaves, so the local expectation is the reference gradient itself; C is read as C[Xb],
    where `dC[Xb] += ...` loses repeated rows."""
    indices = [Xb] if v.name == "C" else []
    kind, words = diagnose.diagnose(v.name, as_tensor(answer), grad, {}, n=Xb.shape[0], indices=indices)
    if kind == "local_rule":  # no common slip: the diagnosis for chained lines says nothing useful here
        words = diagnose.no_common_slip(v.name, MADE_FROM[v.name])
    v.root_cause, v.diagnosis_kind, v.diagnosis = True, kind, words


def returned_names(fn: ast.FunctionDef) -> list[str]:
    """The names of the seven gradients as the function returns them (`return loss, [dC, ...]`, or
    `grads = [dC, ...]` and `return loss, grads`); d<name> where that cannot be read."""
    assigned = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id] = node.value
    names = [f"d{name}" for name in PARAMETER_NAMES]
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
            grads = node.value.elts[1]
            grads = assigned.get(grads.id, grads) if isinstance(grads, ast.Name) else grads
            if isinstance(grads, (ast.List, ast.Tuple)) and len(grads.elts) == len(names):
                names = [e.id if isinstance(e, ast.Name) else d for e, d in zip(grads.elts, names, strict=True)]
    return names


def gradient_lines(source: str) -> dict[str, int]:
    """Parameter name -> the line inside forward_backward that last assigns or changes its gradient."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    fn = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == FUNCTION), None)
    if fn is None:
        return {}
    # simple statements only: a loop's line is the one inside it that changes the gradient
    statements = [node for node in ast.walk(fn) if isinstance(node, ast.stmt) and not hasattr(node, "body")]
    lines = {}
    for name, variable in zip(PARAMETER_NAMES, returned_names(fn), strict=True):
        changes = [s.lineno for s in statements if variable in runner.changed_names(s)]
        if changes:
            lines[name] = max(changes)
    return lines


def worst(results: list[VarResult]) -> VarResult:
    """One variable over several batches: the first failing batch, else the largest maxdiff."""
    for k, v in enumerate(results, start=1):
        if v.status == FAIL and len(results) > 1:
            where = f"on batch {k} of {len(results)}"
            return replace(v, note=f"{v.note}; {where}" if v.note else where)
        if v.status != PASS:
            return v
    return max(results, key=lambda v: v.maxdiff or 0.0)


def merge(reports: list[Report]) -> Report:
    """The reports of several batches as one: per variable its worst result."""
    first = reports[0]
    variables = [worst([r.variables[i] for r in reports]) for i in range(len(first.variables))]
    notes = list(dict.fromkeys(note for r in reports for note in r.notes))
    forward_ok = all(r.forward_ok for r in reports)
    return Report(first.exercise, variables, notes=notes, error=first.error, forward_ok=forward_ok)


@dataclass(frozen=True)
class TrainingExercise(Exercise):
    """An exercise whose file defines forward_backward; after the gradients pass, `ninja check`
    trains the notebook's network with it (ninja/train.py)."""

    learner_tensors = False  # its own loop: the notebook's set-up is not for it
    trains = True

    n_hidden: int = N_HIDDEN
    batches: int = 3  # the gradients are compared on this many batches

    def training_request(self, steps: str | None, device: str | None, plot: Path | None):
        """--steps, --device and --plot as a training request (raises OptionError)."""
        from ninja.makemore import train_view  # rich's progress bars: only for a training run

        return train_view.request(steps, device, plot)

    def train(self, path: Path, settings: Settings, wanted, console, errors) -> tuple[dict, int]:
        """The training run once every gradient passes, shown on `console` (None: quiet, for JSON):
        (its results, the exit code)."""
        from ninja.makemore import train_view

        return train_view.run(self, path, settings, wanted, console, errors)

    def learner_function(self, path: Path, settings: Settings = DEFAULT_SETTINGS):
        """Run the file and return (the run, its forward_backward or None)."""
        with makemore.use(settings):
            run = runner.run_file(path)
        fn = run.namespace.get(FUNCTION)
        return run, fn if callable(fn) else None

    def collect(self, path: Path, settings: Settings = DEFAULT_SETTINGS) -> dict:
        """Call the learner's forward_backward on every check batch: its losses, gradients and
        error as plain data (references are the judge's)."""
        path = Path(path)
        run, fn = self.learner_function(path, settings)
        with makemore.use(settings):
            params = makemore.parameters(self.n_hidden)
            batches = check_batches(settings, self.batches)
        output = io.StringIO()
        calls = []
        for Xb, Yb in batches:
            if run.error is not None or fn is None:
                loss, answers, error = None, dict.fromkeys(PARAMETER_NAMES, UNREACHED if run.error else None), run.error
            else:
                with redirect_stdout(output), redirect_stderr(output):
                    loss, answers, error = call(fn, params, Xb, Yb, path, run.assigned_at.get(FUNCTION))
            calls.append({"loss": collected.plain(loss), "answers": {k: collected.plain(v) for k, v in answers.items()},
                          "error": collected.error_data(error)})  # fmt: skip
            if error is not None or fn is None:
                break  # the same error on every batch
        return {
            "path": str(path),
            "calls": calls,
            "lines": gradient_lines(path.read_text(encoding="utf-8")),
            "defines": run.error is not None or fn is not None,
            "output": (run.output + output.getvalue())[: runner.MAX_OUTPUT],
        }

    def judge(self, data: dict, settings: Settings = DEFAULT_SETTINGS, cache: dict | None = None) -> Report:
        references = cached(cache, ("reference", self.name, settings), lambda: self.references(settings))
        reports = []
        for (trusted_loss, grads, Xb), called in zip(references, data["calls"], strict=False):
            answers = {k: collected.value_of(called["answers"][k]) for k in PARAMETER_NAMES}
            loss, error = collected.value_of(called["loss"]), collected.error_of(called["error"])
            reports.append(self.compare(answers, grads, loss, trusted_loss, error, Xb))
        report = merge(reports)
        report.path = data["path"]
        for v in report.variables:
            v.line = data.get("lines", {}).get(v.name)
        if not data["defines"]:
            report.notes.append(f"{data['path']} defines no function {SIGNATURE}: restore the template's def line")
        report.output = data["output"]
        return report

    def references(self, settings: Settings) -> list[tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]]:
        """The trusted loss and gradients on every check batch, and the batch's Xb."""
        with makemore.use(settings):
            params = makemore.parameters(self.n_hidden)
            batches = check_batches(settings, self.batches)
        return [(*reference(params, Xb, Yb), Xb) for Xb, Yb in batches]

    def compare(self, answers, grads, loss, trusted_loss, error, Xb) -> Report:
        if loss is not None and not (torch.is_tensor(loss) and loss.numel() == 1 and math.isfinite(loss.item())):
            loss = float("nan")  # not a loss: reported as a changed forward pass
        report = engine.check(
            self.name,
            answers,
            grads,
            learner_forward={"loss": loss},
            trusted_forward={"loss": trusted_loss},
            forward_names=("loss",),
            error=error,
            rtol=self.rtol,
            atol=self.atol,
        )
        for v in report.variables:
            if v.status == FAIL and report.forward_ok:  # a changed forward makes the comparison moot
                diagnosed(v, answers[v.name], grads[v.name], Xb)
        return report


# The seven parameters' gradients come at the end of a chain: dlogits in one go (exercise 2), then
# dh, dhpreact, dhprebn in one go (exercise 3), dembcat, demb. Shapes are for n_hidden = 200.
HINTS = {
    "C": (
        "C is (27, 10); dC too. Used in: emb = C[Xb], and demb is dembcat viewed as (n, 3, 10)",
        "Every row of C that Xb picked receives the gradient of the place it was copied to; a character "
        "picked several times adds up all of them.",
        "dC[c] = Σ over (i, j) with Xb[i, j] == c of demb[i, j]; fancy-index += loses repeats: use index_add_.",
    ),
    "W1": (
        "W1 is (30, 200); dW1 too. Used in: hprebn = embcat @ W1 + b1",
        "The matrix-product rule: the other factor, embcat, transposed, times dhprebn (your exercise 3 line).",
        "dW1 = embcatᵀ · dhprebn: (30, n) · (n, 200).",
    ),
    "b1": (
        "b1 is (200,); db1 too. Used in: hprebn = embcat @ W1 + b1, broadcast over the batch",
        "A bias: local derivative 1, broadcast over the rows, so sum dhprebn over the batch. (Batchnorm "
        "cancels b1, so the true gradient is about 0: a right rule still matters.)",
        "db1[k] = Σ_i dhprebn[i, k].",
    ),
    "W2": (
        "W2 is (200, 27); dW2 too. Used in: logits = h @ W2 + b2",
        "The matrix-product rule: h transposed times dlogits, where dlogits is your exercise 2 in one go.",
        "dW2 = hᵀ · dlogits: (200, n) · (n, 27).",
    ),
    "b2": (
        "b2 is (27,); db2 too. Used in: logits = h @ W2 + b2, broadcast over the batch",
        "A bias: local derivative 1, broadcast over the rows, so sum dlogits over the batch.",
        "db2[j] = Σ_i dlogits[i, j].",
    ),
    "bngain": (
        "bngain is (1, 200); dbngain too. Used in: hpreact = bngain * bnraw + bnbias",
        "Through tanh first: dhpreact = (1 - h²) · dh with dh = dlogits · W2ᵀ; then bngain's local "
        "derivative is bnraw, summed over the batch, keeping (1, 200).",
        "dbngain = Σ_i bnraw[i] · dhpreact[i], keepdim.",
    ),
    "bnbias": (
        "bnbias is (1, 200); dbnbias too. Used in: hpreact = bngain * bnraw + bnbias",
        "A bias after tanh's backward: sum dhpreact over the batch, keeping (1, 200).",
        "dbnbias = Σ_i dhpreact[i], keepdim.",
    ),
}


EXERCISE = TrainingExercise(
    name="exercise4",
    title="Train the MLP with your own backward pass",
    checked=PARAMETER_NAMES,
    forward_names=("loss",),
    hints=HINTS,
    notebook=NOTEBOOK,
)
