"""Verdicts on the GPT track that were wrong once: what a template's given(...) hands a learner's
own GPT, named mistakes against generic ones, tied gradients, gpt5's lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_gpt_engine import OWN_GPT, gradient_lines, notebook, solution

from ninja.registry import check_file, find
from ninja.settings import Settings

FORWARD_MARK = "# forward pass, one small step a line\n"


def own_script(name: str) -> str:
    """The solution's forward and backward on a learner's own GPT (batch 4, n_embd 32, their seed),
    with given(...) imported as the template does, and no tensors(...)."""
    body = solution(name).split(FORWARD_MARK)[1].split('if __name__ == "__main__"')[0]
    return "from ninja.tapped.learner import given\n" + OWN_GPT + body


def checked(name: str, path: Path):
    return check_file(find(name), path, Settings())


def first_root_cause(report):
    return next(v for v in report.variables if v.root_cause)


GIVEN_MISTAKES = [  # (exercise, a line of the solution, the mistaken line, checked name, words of the mistake)
    ("gpt2", " - dnorm.mean(-1, keepdim=True)", "", "residual3", "the mean term is missing"),
    ("gpt3", "att * (datt - (att * datt).sum(-1, keepdim=True))", "att * (1 - att) * datt", "qkv", "elementwise"),
]


@pytest.mark.parametrize("name, right, wrong, name_checked, words", GIVEN_MISTAKES)
def test_given_is_computed_on_a_learners_own_gpt(tmp_path, name, right, wrong, name_checked, words):
    """gpt2's dlnf and gpt3's datty on the learner's own sizes: right lines pass, a wrong one is
    named at its line (the package's given gradient, batch 32 and n_embd 16, raised a shape error)."""
    source = own_script(name)
    path = tmp_path / "mine.py"
    path.write_text(source)
    report = checked(name, path)
    assert report.passed, [(v.name, v.status, v.diagnosis) for v in report.variables]
    assert report.notes[0].startswith("checked on your own parameters and batch (batch 4")
    path.write_text(source.replace(right, wrong))
    report = checked(name, path)
    first = first_root_cause(report)
    assert first.name == name_checked and first.diagnosis_kind == "named" and words in first.diagnosis
    assert first.line in gradient_lines(source.replace(right, wrong), name_checked)


def test_given_in_a_notebooks_own_cell(tmp_path):
    """The notebook's backward cell asks for datty itself, after its own set-up cell."""
    forward, backward = solution("gpt3").split(FORWARD_MARK)[1].split("# backward pass: these gradients are given\n")
    cells = ["from ninja.tapped.learner import given\n" + OWN_GPT, forward, backward.split("if __name__")[0]]
    path = tmp_path / "mine.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    report = checked("gpt3", path)
    assert report.passed and report.notes[0].startswith("checked on your own parameters and batch (batch 4")
