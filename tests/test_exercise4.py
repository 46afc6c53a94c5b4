"""Exercise 4: the gradient check of forward_backward, the training run and its options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ninja import runner
from ninja.cli import app
from ninja.makemore import data, train, train_view
from ninja.registry import exercise4, find
from ninja.results import ERROR, FAIL, MISSING, PASS
from ninja.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "exercise4.py"
TEMPLATE = ROOT / "exercises" / "exercise4.py"
EXERCISE = find("exercise4")
BESSEL_LINE = "n / (n - 1) * bnraw"


def cli(*args: str):
    return CliRunner(env={"COLUMNS": "200"}).invoke(app, ["check", *args])  # lines unwrapped


def edited(tmp_path: Path, old: str, new: str) -> Path:
    """The solution with one line changed: a learner's file with one mistake."""
    source = SOLUTION.read_text()
    assert old in source
    path = tmp_path / "exercise4.py"
    path.write_text(source.replace(old, new, 1))
    return path


def names_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "names.txt"
    path.write_text(text)
    return path


# the gradient check


def test_solution_passes_on_every_batch():
    report = EXERCISE.check(SOLUTION)
    assert report.passed
    assert [v.name for v in report.variables] == ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"]
    assert all(v.status == PASS for v in report.variables)


def test_solution_passes_at_other_seeds_and_batch_sizes():
    for settings in (Settings(seed=1, batch_size=7), Settings(seed=99, batch_size=100)):
        assert EXERCISE.check(SOLUTION, settings).passed


def test_template_is_all_missing():
    report = EXERCISE.check(TEMPLATE)
    assert not report.passed
    assert all(v.status == MISSING for v in report.variables)


def test_bessel_mistake_fails_where_it_shows(tmp_path):
    report = EXERCISE.check(edited(tmp_path, BESSEL_LINE, "bnraw"))
    status = {v.name: v.status for v in report.variables}
    assert status["W1"] == FAIL and status["C"] == FAIL
    assert status["W2"] == PASS and status["bngain"] == PASS


def test_loss_backward_is_an_error_that_says_autograd_is_off(tmp_path):
    first = "    dlogits = F.softmax(logits, 1)\n"
    path = edited(tmp_path, first, "    loss.backward()\n" + first)
    report = EXERCISE.check(path)
    assert all(v.status == ERROR for v in report.variables)
    assert "autograd is off" in report.error.message
    assert report.error.source == "loss.backward()"


def test_wrong_return_and_missing_function(tmp_path):
    report = EXERCISE.check(edited(tmp_path, "return loss, grads", "return grads"))
    assert report.error.kind == "TypeError" and "must return loss, [dC" in report.error.message
    report = EXERCISE.check(edited(tmp_path, "def forward_backward(", "def my_step("))
    assert not report.passed
    assert any("defines no function forward_backward" in note for note in report.notes)


def test_changed_forward_is_named(tmp_path):
    report = EXERCISE.check(edited(tmp_path, "(bnvar + 1e-5) ** -0.5", "(bnvar + 1e-3) ** -0.5"))
    assert not report.forward_ok
    assert "loss differs from the reference" in report.notes[0]


# diagnosis: the kind of mistake, at the line inside forward_backward


def line_of(path: Path, text: str) -> int:
    return next(k for k, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


@pytest.mark.parametrize(
    "old, new, name, kind, words",
    [
        ("dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = -dhpreact.sum(0, keepdim=True)", "bnbias", "factor",
         "the sign is flipped"),
        ("dW1 = embcat.T @ dhprebn", "dW1 = dhprebn.T @ embcat", "W1", "transposed", "transposed"),
        ("dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, C.shape[1]))", "dC[Xb] += demb", "C", "accumulation",
         "index_add_"),
        ("db2 = dlogits.sum(0)", "db2 = dlogits.sum(0) / 2", "b2", "factor", "half the right value"),
    ],
)  # fmt: skip
def test_a_wrong_gradient_is_named_at_its_line(tmp_path, old, new, name, kind, words):
    path = edited(tmp_path, old, new)
    report = EXERCISE.check(path)
    wrong = [v for v in report.variables if v.root_cause]
    assert [v.name for v in wrong] == [name]
    assert wrong[0].diagnosis_kind == kind and words in wrong[0].diagnosis
    assert wrong[0].line == line_of(path, new) and report.path == str(path)
    table = cli("exercise4", "-f", str(path), "--steps", "1")
    assert f"{path}:{wrong[0].line}: d{name} is wrong: " in table.output
    assert "training starts once every gradient passes" in table.output
    github = cli("exercise4", "-f", str(path), "--format", "github")
    assert f"::error file={path},line={wrong[0].line},title=d{name} is wrong::" in github.output
    hint = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["hint", "exercise4", "-f", str(path)])
    assert f"{path}:{wrong[0].line}: d{name} is wrong" in hint.output and f"hint 1/3 for d{name}" in hint.output


def test_gradients_failing_alike_point_at_what_they_are_made_from(tmp_path):
    report = EXERCISE.check(edited(tmp_path, BESSEL_LINE, "bnraw"))
    wrong = {v.name: v for v in report.variables if v.root_cause}
    assert set(wrong) == {"C", "W1"}
    assert "dhprebn, which it is made from" in wrong["W1"].diagnosis


def test_gradient_lines_follow_the_names_the_function_returns():
    source = (
        "def forward_backward(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb):\n"
        "    gW2 = 1\n"
        "    gC = 0\n"
        "    for k in range(3):\n"
        "        gC += k\n"
        "    dW1 = db1 = db2 = dbngain = dbnbias = 2\n"
        "    return loss, [gC, dW1, db1, gW2, db2 * 1, dbngain, dbnbias]\n"
    )
    lines = exercise4.gradient_lines(source)
    assert lines == {"C": 5, "W1": 6, "b1": 6, "W2": 2, "b2": 6, "bngain": 6, "bnbias": 6}  # db2 * 1: db2
    solution = exercise4.gradient_lines(SOLUTION.read_text())
    assert solution["C"] == line_of(SOLUTION, "dC.index_add_") and solution["W2"] == line_of(SOLUTION, "dW2 =")
    assert exercise4.gradient_lines("def broken(:") == {} and exercise4.gradient_lines("x = 1") == {}


def test_a_right_file_and_a_changed_forward_name_no_root_cause(tmp_path):
    assert not any(v.root_cause for v in EXERCISE.check(SOLUTION).variables)
    changed = EXERCISE.check(edited(tmp_path, "(bnvar + 1e-5) ** -0.5", "(bnvar + 1e-3) ** -0.5"))
    assert not any(v.root_cause for v in changed.variables)


# the training loop


def test_short_training_run_lowers_the_loss_clearly():
    step = runner.run_file(SOLUTION).namespace["forward_backward"]
    result = train.train(step, Settings(), 300, EXERCISE.n_hidden, torch.device("cpu"))
    first, last = sum(result.lossi[:20]) / 20, sum(result.lossi[-50:]) / 50
    assert len(result.lossi) == 300
    assert 10**first > 3.0 and 10**last < 2.8  # log(27) = 3.3 at the start
    assert result.val_loss < 2.8 and result.train_loss < 2.8
    assert len(result.samples) == 20 and all(set(name) <= set(data.CHARS) for name in result.samples)


def test_curve_averages_windows_and_sparkline_falls():
    window, values = train.curve([float(i) for i in range(1000)], points=100)
    assert window == 10 and len(values) == 100 and values[0] == 4.5
    line = train_view.sparkline([3.0, 2.0, 1.0, 0.0], width=4)
    assert line == "█▆▃▁"


def test_sparkline_has_a_character_per_value_up_to_its_width():
    for count in range(1, 130):
        line = train_view.sparkline([float(i % 7) for i in range(count)], width=60)
        assert len(line) == min(count, 60) and set(line) <= set(train_view.BARS)
    assert train_view.sparkline([]) == ""


def test_tiny_runs_decay_the_learning_rate_only_after_a_step_at_0_1():
    assert [train.learning_rate(0, n) for n in (1, 2, 3)] == [0.1, 0.1, 0.1]
    assert train.learning_rate(1, 2) == 0.01 and train.learning_rate(49, 100) == 0.1
    assert train.learning_rate(50, 100) == 0.01
    assert train_view.learning_rates(1) == "lr 0.1"
    assert train_view.learning_rates(2) == "lr 0.1, then 0.01 from step 1"


@pytest.mark.parametrize("steps", ["1", "2", "5"])
def test_every_step_count_trains_and_reports(steps):
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", steps)
    assert result.exit_code == 0, result.output
    count = int(steps)
    assert f"{count} step{'s' if count > 1 else ''} on cpu" in result.output
    assert "from step 0" not in result.output
    assert "20 names sampled" in result.output


def test_steps_option_parsing():
    assert train_view.parse_steps("full") == train.FULL_STEPS == 200_000
    assert train_view.parse_steps("1,000") == 1000
    assert train_view.parse_steps(None) == train.DEFAULT_STEPS
    for bad in ("0", "-5", "many"):
        with pytest.raises(train_view.OptionError):
            train_view.parse_steps(bad)


# the command


def test_check_trains_after_the_gradients_pass():
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", "200")
    assert result.exit_code == 0, result.output
    assert "7/7 correct" in result.output
    assert "200 steps on cpu" in result.output
    assert "train " in result.output and "val " in result.output
    assert "20 names sampled" in result.output


def test_wrong_gradient_stops_before_training(tmp_path):
    result = cli("exercise4", "-f", str(edited(tmp_path, BESSEL_LINE, "bnraw")), "--steps", "200")
    assert result.exit_code == 1
    assert "dW1" in result.output and "fail" in result.output
    assert "training starts once every gradient passes" in result.output
    assert "steps on cpu" not in result.output


def test_bad_steps_is_a_usage_error():
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", "lots")
    assert result.exit_code == 2
    assert "--steps takes a positive number" in result.output


def test_training_options_belong_to_exercise4_only():
    result = cli("exercise1", "-f", str(ROOT / "solutions" / "exercise1.py"), "--steps", "10", "--plot", "x.png")
    assert result.exit_code == 2
    assert "--steps, --plot: only exercise4 trains a model" in result.output


def test_plot_writes_a_png(tmp_path):
    plot = tmp_path / "loss.png"
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", "100", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"training curve written to {plot}" in result.output


def test_plot_path_is_checked_before_training(tmp_path):
    result = cli("exercise4", "-f", str(SOLUTION), "--plot", str(tmp_path / "nowhere" / "loss.png"))
    assert result.exit_code == 2 and "cannot write in" in result.output
    result = cli("exercise4", "-f", str(SOLUTION), "--plot", str(tmp_path / "loss.txt"))
    assert result.exit_code == 2 and ".png" in result.output


def test_plot_paths_that_cannot_be_written_are_usage_errors_before_training(tmp_path):
    folder = tmp_path / "d.png"
    folder.mkdir()
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", "5", "--plot", str(folder))
    assert result.exit_code == 2 and "that is a folder" in result.output and "steps on cpu" not in result.output
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", "5", "--plot", "/proc/x.png")  # even as root
    assert result.exit_code == 2 and "--plot /proc/x.png: cannot write it" in result.output
    assert "steps on cpu" not in result.output and "Traceback" not in result.output


def test_plot_check_leaves_no_file_and_keeps_an_old_picture(tmp_path):
    fresh, old = tmp_path / "fresh.png", tmp_path / "old.png"
    old.write_bytes(b"an older curve")
    train_view.request("5", None, fresh)
    train_view.request("5", None, old)
    assert not fresh.exists() and old.read_bytes() == b"an older curve"


def test_plot_that_fails_after_training_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    folder = tmp_path / "plots"
    folder.mkdir()
    original = train.train

    def train_then_lose_the_folder(*args, **kwargs):
        result = original(*args, **kwargs)
        shutil.rmtree(folder)  # gone while training ran
        return result

    monkeypatch.setattr(train, "train", train_then_lose_the_folder)
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", "5", "--plot", str(folder / "loss.png"))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "5 steps on cpu" in result.output and "20 names sampled" in result.output  # the run is not lost
    assert f"--plot {folder / 'loss.png'}: cannot write the training curve" in result.output
    assert "training curve written" not in result.output
    folder.mkdir()
    as_json = cli("exercise4", "-f", str(SOLUTION), "--steps", "5", "--plot", str(folder / "a.svg"), "--format", "json")
    assert as_json.exit_code == 2
    training = json.loads(as_json.stdout)["training"]
    assert training["plot"] is None and "cannot write the training curve" in training["plot_error"]


def test_data_option_trains_on_that_file(tmp_path):
    names = data.read_words()[:400]
    path = names_file(tmp_path, "\n".join(names) + "\n")
    result = cli("exercise4", "-f", str(SOLUTION), "--data", str(path), "--steps", "100", "--format", "json")
    assert result.exit_code == 0, result.output
    training = json.loads(result.output)["training"]
    assert training["steps"] == 100 and len(training["samples"]) == 20
    assert training["curve_window"] == 1 and len(training["curve"]) == 100


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "holds 0 names"),
        ("anna\nbob\n12345\n", "characters outside a-z"),
        ("émile\n" * 20, "characters outside a-z"),
    ],
)
def test_bad_data_file_is_a_clear_usage_error(tmp_path, text, message):
    result = cli("exercise4", "-f", str(SOLUTION), "--data", str(names_file(tmp_path, text)), "--steps", "10")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_device_cuda_without_a_gpu_says_so_and_uses_the_cpu():
    result = cli("exercise4", "-f", str(SOLUTION), "--steps", "20", "--device", "cuda")
    assert result.exit_code == 0, result.output
    if torch.cuda.is_available():
        assert "20 steps on cuda" in result.output
    else:
        assert "--device cuda:" in result.output and "training runs on the CPU" in result.output
        assert "20 steps on cpu" in result.output


def test_gradient_shape_differing_in_size_one_dims_trains(tmp_path):
    path = edited(tmp_path, "dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact.sum(0)")
    result = cli("exercise4", "-f", str(path), "--steps", "20")
    assert result.exit_code == 0, result.output
    assert "only leading size-1 dims differ" in result.output and "20 steps on cpu" in result.output


def test_error_during_training_is_shown_with_its_line(tmp_path):
    path = edited(
        tmp_path,
        "    n = Xb.shape[0]  # the batch size\n",
        "    n = Xb.shape[0]  # the batch size\n    calls.append(1)\n    assert len(calls) <= 3, 'boom'\n",
    )
    path.write_text("calls = []\n" + path.read_text())  # the file runs afresh for training: steps 0-2 pass
    result = cli("exercise4", "-f", str(path), "--steps", "10")
    assert result.exit_code == 1
    assert "training stopped at step 3" in result.output and "AssertionError: boom" in result.output


def test_template_file_copied_to_a_folder_runs_as_a_check(tmp_path):
    copy = tmp_path / "exercise4.py"
    shutil.copy(TEMPLATE, copy)
    result = cli("exercise4", "-f", str(copy))
    assert result.exit_code == 1 and "0/7 correct (7 missing)" in result.output
