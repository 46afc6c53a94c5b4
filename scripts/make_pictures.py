"""The README's two pictures, from a real run of the installed `ninja`.

    python scripts/make_pictures.py            # writes docs/img/check-table.svg and docs/img/class-report.png
    python scripts/make_pictures.py --check    # exit 1 if either picture is no longer what a run gives

check-table.svg: `ninja check exercise1` in a fresh workspace on docs/examples/exercise1_sign.py (one
flipped sign), its coloured output recorded by rich and exported as SVG text. --check compares that text.

class-report.png: `ninja grade --report` on a small class made here from the reference solution (each
student a slip of their own), screenshot by headless Chromium. A screenshot's pixels depend on the fonts
of the machine, so the PNG carries the SHA-256 of the report page it shows (a tEXt chunk; the page less its run line,
which holds the seconds the run took), and --check
compares that with the page a run gives now; --check needs no browser.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from rich.console import Console
from rich.text import Text

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img"
SVG = IMG / "check-table.svg"
PNG = IMG / "class-report.png"
NINJA = Path(sys.executable).with_name("ninja")
WIDTH = 100  # columns of the recorded terminal
PAGE_SIZE = "1000,1500"  # Chromium's window, in CSS pixels
SEED = "1"  # the grading seed, fixed so that the page is the same at every run

# each student's slip: (student, the solution's line, what they wrote instead); None: the template
SLIPS = [
    ("ada", None, None),
    ("ben", None, None),
    ("cy", "dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)"),
    ("dee", "dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)"),
    ("eve", "dbnvar = (-0.5", "dbnvar = -(-0.5"),
    ("fay", "db2 = dlogits.sum(0)", "db2 = dlogits"),
    ("gus", "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h"),
    ("hal", "dh = dlogits @ W2.T", "dh = dlogits @ W2.T)"),
    ("ivy", "template", "template"),
]


def environment() -> dict[str, str]:
    """A terminal of WIDTH columns that takes colour, whatever runs this script."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    return env | {"COLUMNS": str(WIDTH), "FORCE_COLOR": "1", "TERM": "xterm-256color", "PYTHONHASHSEED": "0"}


def check_table_svg() -> str:
    """`ninja check exercise1` on one flipped sign, as a learner's terminal shows it."""
    with tempfile.TemporaryDirectory(prefix="ninja-pictures-") as tmp:
        subprocess.run([str(NINJA), "init", "."], cwd=tmp, check=True, capture_output=True)
        shutil.copy(REPO / "docs" / "examples" / "exercise1_sign.py", Path(tmp, "exercises", "exercise1.py"))
        run = subprocess.run(
            [str(NINJA), "check", "exercise1"], cwd=tmp, env=environment(), capture_output=True, text=True
        )
    if run.returncode != 1:
        raise SystemExit(f"ninja check exercise1 exited {run.returncode}, not 1:\n{run.stdout}{run.stderr}")
    console = Console(record=True, width=WIDTH, file=open(os.devnull, "w"), force_terminal=True)
    console.print(Text("$ ninja check exercise1", style="bold"))
    console.print(Text.from_ansi(run.stdout.rstrip("\n")), soft_wrap=True)
    return console.export_svg(title="ninja check exercise1")


def make_class(root: Path) -> None:
    """A folder per student, each holding exercise1.py with its slip."""
    solution = (REPO / "solutions" / "exercise1.py").read_text(encoding="utf-8")
    template = (REPO / "exercises" / "exercise1.py").read_text(encoding="utf-8")
    for student, line, instead in SLIPS:
        if line == "template":
            text = template
        elif line is None:
            text = solution
        else:
            assert instead is not None and solution.count(line) == 1, f"the solution has no one line {line!r}"
            text = solution.replace(line, instead)
        (root / student).mkdir(parents=True)
        (root / student / "exercise1.py").write_text(text, encoding="utf-8")


def class_report_html(workdir: Path) -> bytes:
    """The page `ninja grade --report` writes for the class, graded at a fixed seed."""
    make_class(workdir / "class")
    students = [f"class/{student}" for student, _, _ in SLIPS]
    grade = [str(NINJA), "grade", *students, "--seed", SEED, "--format", "csv", "--out", "grades.csv"]
    run = subprocess.run([*grade, "--report", "report.html"], cwd=workdir, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"ninja grade exited {run.returncode}:\n{run.stdout}{run.stderr}")
    return (workdir / "report.html").read_bytes()


def screenshot(page: Path, png: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Chromium is needed to make the report's picture: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="ninja-chromium-") as profile:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}"]
        how = [f"--window-size={PAGE_SIZE}", f"--screenshot={png}"]
        subprocess.run([chromium, *flags, *how, page.as_uri()], check=True, capture_output=True, timeout=120)


def with_text_chunk(png: bytes, key: str, value: str) -> bytes:
    """The PNG with a tEXt chunk key=value after its header chunk (IHDR: 8 + 25 bytes)."""
    body = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return png[:33] + chunk + png[33:]


def text_chunk(png: bytes, key: str) -> str | None:
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        if kind == b"tEXt" and body.startswith(key.encode("latin-1") + b"\0"):
            return body.split(b"\0", 1)[1].decode("latin-1")
        at += 12 + length
    return None


def fingerprint(page: bytes) -> str:
    """SHA-256 of the page less its run line (the seconds the run took, this machine's isolation)."""
    kept = [line for line in page.splitlines(keepends=True) if not line.lstrip().startswith(b'<p class="run">')]
    return hashlib.sha256(b"".join(kept)).hexdigest()


def stale() -> list[str]:
    """What no longer matches a run made now (nothing when both pictures are current)."""
    problems = []
    if not SVG.exists() or SVG.read_text(encoding="utf-8") != check_table_svg():
        problems.append(f"{SVG.relative_to(REPO)} is not what `ninja check exercise1` shows now")
    with tempfile.TemporaryDirectory(prefix="ninja-pictures-") as tmp:
        page = fingerprint(class_report_html(Path(tmp)))
    if not PNG.exists() or text_chunk(PNG.read_bytes(), "report-sha256") != page:
        problems.append(f"{PNG.relative_to(REPO)} does not show the report `ninja grade --report` writes now")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a picture is stale; write nothing")
    if parser.parse_args().check:
        problems = stale()
        for problem in problems:
            print(f"{problem}: run python scripts/make_pictures.py", file=sys.stderr)
        return 1 if problems else 0
    IMG.mkdir(parents=True, exist_ok=True)
    SVG.write_text(check_table_svg(), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="ninja-pictures-") as tmp:
        page = class_report_html(Path(tmp))
        shot = Path(tmp) / "shot.png"
        screenshot(Path(tmp) / "report.html", shot)
        PNG.write_bytes(with_text_chunk(shot.read_bytes(), "report-sha256", fingerprint(page)))
    print(f"wrote {SVG.relative_to(REPO)} and {PNG.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
