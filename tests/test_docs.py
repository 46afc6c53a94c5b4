"""The docs say what the program does: their console sessions are run and compared, every other command
they show is checked against its --help, the site builds in strict mode, the README's links lead somewhere.

A console session is a fenced block marked `console`: `$ command` lines, each followed by the output
expected. In the expected output a line `...` stands for any number of lines, and `[...]` inside a line
for any text. The sessions of a page run in order, in one fresh folder holding copies of the repository's
exercises/, solutions/ and docs/examples/ (as a reader in a clone has them); `cd DIR` moves it.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from conftest import NINJA, ROOT
from PIL import Image

PAGES = sorted((ROOT / "docs").glob("*.md"))
SHOWN = [ROOT / "README.md", *PAGES]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
BIN = Path(sys.executable).parent


def sessions(page: Path) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each `$ ` line of the page's console blocks."""
    steps: list[tuple[str, list[str]]] = []
    for kind, body in FENCE.findall(page.read_text(encoding="utf-8")):
        if kind != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                assert steps, f"{page.name}: a console block must start with a `$ ` line"
                steps[-1][1].append(line)
    return steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; `...` takes any number of lines, `[...]` any text within a line."""
    pattern = "".join(
        "(?:.*\n)*?" if line == "..." else ".*".join(map(re.escape, line.rstrip().split("[...]"))) + "\n"
        for line in expected
    )
    return re.fullmatch(pattern, "".join(line.rstrip() + "\n" for line in actual)) is not None


def reader_folder(tmp_path: Path) -> Path:
    for part in ("exercises", "solutions", "docs/examples"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def run_shown(command: str, cwd: Path) -> list[str]:
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "100", "NO_COLOR": "1"}
    env.pop("NINJA_WORKSPACE", None)
    done = subprocess.run(
        command, shell=True, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300
    )
    return done.stdout.splitlines()


def test_the_session_format():
    assert matches(["a", "...", "d [...] f"], ["a", "b", "c", "d e f  "])
    assert matches(["a", "..."], ["a"])
    assert not matches(["a", "c"], ["a", "b", "c"])
    assert not matches(["x [...] y"], ["x y z"])


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in SHOWN if sessions(p)], ids=lambda p: p.name)
def test_console_sessions_in_the_docs_give_the_output_shown(page, tmp_path):
    cwd = reader_folder(tmp_path)
    for command, expected in sessions(page):
        if command.startswith("cd "):
            cwd = cwd / command[3:].strip()
            assert cwd.is_dir(), f"{page.name}: `{command}`: no such folder"
            continue
        actual = run_shown(command, cwd)
        printed, shown = "\n".join(actual), "\n".join(expected)
        assert matches(expected, actual), f"{page.name}: `{command}` printed\n{printed}\n\nnot\n{shown}"


def shown_commands(page: Path) -> list[str]:
    """Every `ninja ...` or `backprop-ninja ...` line of the page's code (console sessions' outputs aside)."""
    text = page.read_text(encoding="utf-8")
    code = [body for kind, body in FENCE.findall(text) if kind != "console"]
    code += re.findall(r"^(?: {4}|\t)(.*)$", FENCE.sub("", text), re.M)  # indented blocks
    code += [line[2:] for kind, body in FENCE.findall(text) if kind == "console" for line in body.splitlines()
             if line.startswith("$ ")]  # fmt: skip
    lines = "\n".join(code).replace("\\\n", " ").splitlines()  # a command continued with a backslash
    found = [re.sub(r"^[!%]?(\$ )?", "", line.strip()) for line in lines]
    return [line.split("#")[0].strip() for line in found if re.match(r"(backprop-)?ninja \w", line)]


GROUPS = {"course", "dev"}  # commands with commands of their own: `ninja dev check`


@cache
def help_of(command: str) -> str:
    done = subprocess.run(
        [str(NINJA), *command.split(), "--help"], capture_output=True, text=True, env=os.environ | {"COLUMNS": "300"}
    )
    assert done.returncode == 0, f"`ninja {command} --help` failed: {done.stdout}{done.stderr}"
    return done.stdout


def test_every_command_shown_has_the_options_it_shows():
    """A renamed command or option turns every example of it wrong: each shown one is checked."""
    checked = 0
    for page in SHOWN:
        for line in shown_commands(page):
            words = shlex.split(line.replace("[", "").replace("]", ""))[1:]
            group = " ".join(words[:2]) if words[0] in GROUPS else words[0]
            text = help_of(group)
            for option in (w.split("=")[0] for w in words if re.match(r"--?[a-z]", w)):
                assert option in text, f"{page.name}: `{line}`: `ninja {group}` has no option {option}"
            checked += 1
    assert checked > 30


def test_the_site_builds_in_strict_mode(tmp_path):
    build = [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")]
    done = subprocess.run(build, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "learner" / "index.html").exists()


def test_the_readme_links_lead_to_files_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)]+)\)", readme) if "://" not in t]
    assert len(targets) > 5
    for target in targets:
        assert (ROOT / target).exists(), f"README.md links to {target}, which is not there"


@pytest.mark.slow
def test_the_readme_pictures_show_what_a_run_shows_now():
    """The check table's SVG text, and the page the report's PNG was taken of, against a run made now."""
    script = ROOT / "scripts" / "make_pictures.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_the_report_picture_carries_the_page_it_shows():
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_pictures

    png = (ROOT / "docs" / "img" / "class-report.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(make_pictures.text_chunk(png, "report-sha256")) == 64
    marked = Image.open(io.BytesIO(make_pictures.with_text_chunk(png, "k", "v")))  # pillow checks each CRC
    marked.load()
    assert marked.text["k"] == "v" and marked.size == (1000, 1500)
