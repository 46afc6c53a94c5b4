"""`ninja hint`: every checked variable of exercises 1-4 has three levels of hints, none of them a
solution line; the command names the first root cause of a learner's file."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ninja.cli import app
from ninja.registry import EXERCISES, find


def normalized(text: str) -> str:
    return re.sub(r"\s+", "", text)


def solution_lines(exercise) -> list[str]:
    """The backward lines of a solution: what a hint must never give away."""
    source = exercise.solution.read_text()
    start = source.index("# manual backprop" if exercise.name == "exercise4" else "# backward pass")
    backward = source[start : source.index('if __name__ == "__main__"')]
    return [line.strip() for line in backward.splitlines() if line.strip() and not line.strip().startswith("#")]


@pytest.mark.parametrize("name", ["exercise1", "exercise2", "exercise3", "exercise4"])
def test_every_checked_variable_has_three_hints_and_none_gives_the_solution_away(name):
    exercise = find(name)
    assert set(exercise.hints) == set(exercise.checked)
    secrets = [normalized(line) for line in solution_lines(exercise)]
    assert secrets
    for variable, levels in exercise.hints.items():
        assert len(levels) == 3 and all(len(text) > 20 for text in levels), variable
        assert variable in levels[0]  # level 1 names its shapes and the line that uses it
        for text in levels:
            for secret in secrets:
                assert secret not in normalized(text), (variable, secret)


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def test_hint_for_a_named_variable_at_each_level():
    hints = EXERCISES["exercise1"].hints["probs"]
    for level in (1, 2, 3):
        done = run("hint", "exercise1", "dprobs", "--level", str(level))
        assert done.exit_code == 0
        assert f"hint {level}/3 for dprobs" in done.stdout and hints[level - 1] in done.stdout
    assert run("hint", "exercise1", "probs").stdout == run("hint", "exercise1", "dprobs").stdout


def test_unknown_variable_or_level_is_a_usage_error():
    done = run("hint", "exercise1", "dfoo")
    assert done.exit_code == 2
    assert "no variable named 'dfoo'" in done.output and "Known: dlogprobs, dprobs, dcounts_sum_inv" in done.output
    assert run("hint", "exercise1", "probs", "--level", "4").exit_code == 2
    assert run("hint", "exercise9", "probs").exit_code == 2


def test_hint_without_a_variable_follows_the_learners_file(tmp_path):
    source = find("exercise2").solution.read_text()
    wrong = tmp_path / "mine.py"
    wrong.write_text(source.replace("dlogits /= n\n", "dlogits /= n * n\n"))
    done = run("hint", "exercise2", "--file", str(wrong), "--level", "2")
    assert done.exit_code == 0
    line = wrong.read_text().splitlines().index("dlogits /= n * n") + 1
    assert f"{wrong}:{line}: dlogits is wrong: the 1/n is there twice" in done.stdout  # named, not "32 times"
    assert EXERCISES["exercise2"].hints["logits"][1] in done.stdout

    done = run("hint", "exercise2", "--file", str(find("exercise2").solution))
    assert done.exit_code == 0 and "everything passes" in done.stdout

    done = run("hint", "exercise3", "--file", str(find("exercise3").template))
    assert done.exit_code == 0 and "next: dhprebn (missing)" in done.stdout

    assert run("hint", "exercise1", "--file", str(tmp_path / "nope.py")).exit_code == 2


def test_cs231n_hints_by_function_or_result_name():
    layers = EXERCISES["layers"]
    by_function = run("hint", "layers", "affine_backward", "--level", "3")
    by_result = run("hint", "layers", "affine_backward.dw", "--level", "3")
    assert by_function.exit_code == by_result.exit_code == 0
    assert layers.hints["affine_backward"][2] in by_function.stdout and "daffine" not in by_function.stdout
    assert "hint 3/3 for affine_backward.dw" in by_result.stdout
    assert run("hint", "layers", "affine_sideways").exit_code == 2
