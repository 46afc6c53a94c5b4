"""A course in one command: `ninja course init DIR`, from one `ninja.toml`.

ninja.toml holds the course's choices: the exercises, points per variable, limits (timeout,
memory), batch sizes and how credit is given. From it `ninja course init` writes
  DIR/student/     the starter students get: templates, a README, the ninja.toml, a GitHub Actions
                   workflow that grades on push (GitHub Classroom reads its score), and a copy of
                   backprop-ninja to install that carries no solutions;
  DIR/autograder/  Gradescope's autograder: setup.sh, run_autograder, the ninja.toml and the same
                   solution-free copy; zipped as DIR/autograder.zip (upload that).
`ninja grade` reads the same ninja.toml (--config, or ./ninja.toml), so every place grades alike.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ninja import __version__, registry
from ninja.course_rules import ALL_HINTS
from ninja.exercise import PACKAGE
from ninja.grade import release, strip
from ninja.grade.batch import GradeError, toml_table
from ninja.registry import EXERCISES

CONFIG = "ninja.toml"
DEFAULT_EXERCISES = ("exercise1", "exercise2", "exercise3")
PACKAGE_COPY = ".backprop-ninja"  # the solution-free copy; hidden, so grading a whole repository skips it
CREDITS = ("value", "local")
DEFAULT_HINTS = 2  # the derivative in words; level 3 is the rule (exercise 3's is its whole formula)
SETTINGS = ("name", "exercises", "timeout", "memory", "batch_sizes", "credit", "jobs", "hints", "visibility",
            "release")  # fmt: skip
# Gradescope's: always shown, never, once the due date has passed, once the grades are published
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass
class Course:
    """ninja.toml's [course] table. None: not chosen there (the command line or the default decides)."""

    name: str = "backprop"
    exercises: tuple[str, ...] = ()
    timeout: float | None = None
    memory: int | None = None
    batch_sizes: tuple[int, ...] | None = None
    credit: str | None = None
    jobs: int | None = None
    hints: int = DEFAULT_HINTS  # the highest hint level students see; 0: none
    visibility: str = "visible"  # the whole result on Gradescope
    release: str = ""  # where the student wheel is downloaded from (a release's asset folder URL)
    exercise_visibility: dict[str, str] = field(default_factory=dict)  # [exercise1] visibility = "hidden"

    def visibility_of(self, exercise: str) -> str:
        return self.exercise_visibility.get(exercise, self.visibility)


def number(config: Path, key: str, value, kind=float, least: float = 0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise GradeError(f"{config}: course.{key} must be a {'whole ' if kind is int else ''}number, not {value!r}")
    if value <= least:
        raise GradeError(f"{config}: course.{key} must be above {least:g}, not {value!r}")
    return kind(value)


def load(config: Path) -> Course:
    """The [course] table of ninja.toml (points are read by batch.read_points); GradeError when wrong.
    The exercise files it registers ([exercises.NAME] file = ...) become known exercises."""
    try:
        registry.add_registered(config)
    except registry.ExerciseFileError as e:
        raise GradeError(str(e)) from None
    table = toml_table(config).get("course", {})
    if not isinstance(table, dict):
        raise GradeError(f"{config}: course must be a table ([course])")
    unknown = set(table) - set(SETTINGS)
    if unknown:
        raise GradeError(f"{config}: [course] has no setting {', '.join(sorted(unknown))}")
    exercises = table.get("exercises", [])
    if not isinstance(exercises, list) or not all(isinstance(e, str) for e in exercises):
        raise GradeError(f'{config}: course.exercises must be a list of names, like ["exercise1"]')
    for name in exercises:
        if name not in EXERCISES:
            raise GradeError(f"{config}: course.exercises names {name!r}; known: {', '.join(EXERCISES)}")
    sizes = table.get("batch_sizes")
    if sizes is not None:
        if not isinstance(sizes, list) or len(set(sizes)) < 2:
            raise GradeError(f"{config}: course.batch_sizes must list two different sizes at least, like [32, 45]")
        sizes = tuple(number(config, "batch_sizes", n, int, 1) for n in sizes)
    credit = table.get("credit")
    if credit is not None and credit not in CREDITS:
        raise GradeError(f'{config}: course.credit is "value" or "local", not {credit!r}')
    visibility = table.get("visibility", "visible")
    given = {f"{name}.visibility": section["visibility"] for name, section in toml_table(config).items()
             if name != "course" and isinstance(section, dict) and "visibility" in section}  # fmt: skip
    for where, value in {"course.visibility": visibility, **given}.items():
        if value not in VISIBILITIES:
            raise GradeError(f"{config}: {where} is one of {', '.join(VISIBILITIES)}, not {value!r}")
    chosen = {where.removesuffix(".visibility"): str(value) for where, value in given.items()}
    hints = table.get("hints", DEFAULT_HINTS)
    if isinstance(hints, bool) or hints not in range(ALL_HINTS + 1):
        raise GradeError(f"{config}: course.hints is a level from 0 (no hints) to 3 (the rule), not {hints!r}")
    return Course(
        name=str(table.get("name", "backprop")),
        exercises=tuple(exercises),
        timeout=number(config, "timeout", table["timeout"]) if "timeout" in table else None,
        memory=number(config, "memory", table["memory"], int, 63) if "memory" in table else None,
        batch_sizes=sizes,
        credit=credit,
        jobs=number(config, "jobs", table["jobs"], int) if "jobs" in table else None,
        hints=hints,
        visibility=visibility,
        exercise_visibility=chosen,
        release=release_url(config, table.get("release", "")),
    )


def release_url(config: Path, url) -> str:
    if not isinstance(url, str) or (url and not re.fullmatch(r"https://[^\s\"'`$\\]+", url)):
        raise GradeError(f"{config}: course.release is the https:// folder the wheel is downloaded from, not {url!r}")
    return url


def starting_toml(exercises: list[str], name: str) -> str:
    """A ninja.toml to start from: every choice written out, one point per variable."""
    listed = ", ".join(f'"{e}"' for e in exercises)
    lines = [
        "# The course's choices, in one place. `ninja course init` builds the student starter and the",
        "# Gradescope autograder from this file; `ninja grade` reads it too (command-line options win).",
        "[course]",
        f'name = "{name}"',
        f"exercises = [{listed}]",
        "timeout = 60          # wall-clock seconds per submission",
        "memory = 1024         # MB per submission",
        "# batch_sizes = [32, 45]   # default: 32 and a second size drawn from each run's secret seed",
        'credit = "value"      # or "local": a line right given the student\'s upstream gradients earns its points',
        '# visibility = "visible"  # on Gradescope: visible, hidden, after_due_date or after_published;',
        '#                         # [exercise2] visibility = "after_due_date" sets one exercise\'s',
        '# release = "https://github.com/ORG/COURSE/releases/download/v1"  # where students\' workflows get',
        "#   backprop-ninja: upload release/backprop_ninja-*.whl there (pinned by its sha256 in the workflow)",
        f"hints = {DEFAULT_HINTS}             # the highest level `ninja hint` shows students: 0 none, 1 shapes, "
        "2 the derivative in words, 3 the rule",
        "",
    ]
    for exercise in exercises:
        lines.append(f"[{exercise}.points]")
        ex = EXERCISES[exercise]
        lines += [f'"{ex.labels.shown(name)}" = 1' for name in ex.checked]
        lines.append("")
    return "\n".join(lines)


# ---- what the students get -------------------------------------------------------------------------


def package_without_solutions(dest: Path, config: Path, course: Course) -> None:
    """A copy of this backprop-ninja that pip can install, with the templates and no solutions:
    the `ninja` package (less caches and bundled files), the templates bundled inside it, the
    course's ninja.toml as its rules (ninja/course_rules.py), no hint text above the course's
    level (ninja/grade/strip.py), and a pyproject.toml that includes nothing else."""
    if dest.exists():
        shutil.rmtree(dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_bundled")
    shutil.copytree(PACKAGE, dest / "ninja", ignore=ignore)
    templates = dest / "ninja" / "_bundled" / "exercises"
    templates.mkdir(parents=True)
    for exercise in EXERCISES.values():
        shutil.copy(exercise.template, templates / exercise.template.name)
    shutil.copy(config, dest / "ninja" / "_bundled" / "course.toml")
    for source in exercise_files(config):  # its own exercise files, where the bundled course.toml finds them
        target = dest / "ninja" / "_bundled" / source.relative_to(config.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    strip.strip_package(dest, EXERCISES.values(), course.hints)
    deps = ",\n".join(f"    {json.dumps(requirement)}" for requirement in dependencies())  # a TOML string
    (dest / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.21"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "backprop-ninja"\nversion = "{__version__}"\nrequires-python = ">=3.10"\n'
        f"dependencies = [\n{deps},\n]\n\n"
        '[project.scripts]\nninja = "ninja.launch:main"\nbackprop-ninja = "ninja.launch:main"\n\n'
        "# built for students: the templates only (ninja/_bundled/exercises), never the solutions\n"
        '[tool.hatch.build.targets.wheel]\npackages = ["ninja"]\n',
        encoding="utf-8",
    )


def dependencies() -> list[str]:
    """backprop-ninja's own runtime requirements: from the source checkout's pyproject.toml, or the
    installed package's metadata."""
    source = PACKAGE.parent / "pyproject.toml"
    if source.is_file():
        return list(toml_table(source)["project"]["dependencies"])
    from importlib.metadata import requires

    return [r for r in requires("backprop-ninja") or [] if "extra ==" not in r]


WORKFLOW = """\
# Grades your exercises on every push: annotations at your lines, the per-variable table in the
# run's summary, and the score for GitHub Classroom (its reporter reads the grade step's result).
# backprop-ninja comes from the course's release, pinned by its sha256; the exercises and points
# come from the course's ninja.toml inside it, not from this repository. (You can edit this file:
# your instructor grades every repository again from their side at the deadline.)
name: Autograding Tests
on: [push, workflow_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install backprop-ninja from the course's release (pinned)
        run: |
{install}
      - name: Grade
        id: ninja
        run: {command}
      - name: Report to GitHub Classroom
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          NINJA_RESULTS: "${{{{ steps.ninja.outputs.result }}}}"
        with:
          runners: ninja
"""
STUDENT_COMMAND = "backprop-ninja grade exercises --course --format github"  # never the build system
NO_RELEASE = (
    'echo "::error::the course has no release URL yet: the instructor sets [course] release in ninja.toml '
    'and runs ninja course init again" && exit 1'
)


def workflow(course: Course, wheel: Path, requirements: list[str]) -> str:
    """The starter's workflow: installs from the course's release by URL and sha256 (or stops,
    saying so, while ninja.toml names no release), then grades by the installed course's rules."""
    if course.release:
        url = f"{course.release.rstrip('/')}/{wheel.name}#sha256={release.sha256(wheel)}"
        steps = release.install_lines(requirements, f"backprop-ninja @ {url}")
    else:
        steps = [NO_RELEASE]
    return WORKFLOW.format(install="\n".join(f"          {line}" for line in steps), command=STUDENT_COMMAND)


def student_readme(course: Course, requirements: list[str]) -> str:
    listed = "\n".join(f"- `exercises/{e}.py`: {EXERCISES[e].title}" for e in course.exercises)
    first = course.exercises[0]
    torch = next((r for r in requirements if r.startswith("torch")), "torch")
    return f"""# {course.name}

Your exercises:

{listed}

Set up once, in a virtual environment (Debian, Ubuntu and Homebrew's Python refuse a plain
`pip install` outside one):

    python3 -m venv .venv
    . .venv/bin/activate            # Windows: .venv\\Scripts\\activate
    pip install --index-url {release.TORCH_INDEX} "{torch}"
    pip install ./{PACKAGE_COPY}

Write your gradients in place of each `None  # TODO`, then check them:

    ninja list                   # your exercises and your progress
    ninja check {first}          # your gradients against autograd, line by line
    ninja hint {first}           # the first wrong line, and a hint for it
    ninja watch {first}          # rechecks on every save

Every push is graded by `.github/workflows/grade.yml`, which runs

    {STUDENT_COMMAND}

(the same works here): annotations at your lines, each variable in the run's summary, and the
score for GitHub Classroom. Points and limits come from the course (`ninja.toml` here is a copy
to read). The copy of backprop-ninja in `{PACKAGE_COPY}/` carries no solutions. Your instructor
grades every repository again at the deadline.
"""


SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder's image: every package at a pinned version.
set -euo pipefail
apt-get update && apt-get install -y python3 python3-pip python3-venv
python3 -m venv /opt/ninja
export PATH=/opt/ninja/bin:$PATH
{install}
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: /autograder/submission -> /autograder/results/results.json
ROOT="${{NINJA_GRADESCOPE_ROOT:-/autograder}}"
NINJA="${{NINJA:-/opt/ninja/bin/ninja}}"
exec "$NINJA" grade --gradescope --config "$ROOT/source/ninja.toml"
"""


def write(path: Path, text: str, created: list[Path], executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    created.append(path)


def zip_folder(folder: Path, archive: Path) -> None:
    """Gradescope wants setup.sh and run_autograder at the zip's top; modes kept (run_autograder runs)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, str(path.relative_to(folder)))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())


def exercise_files(config: Path) -> list[Path]:
    """The exercise files a ninja.toml registers (never their solutions: those stay with the instructor)."""
    table = toml_table(config).get("exercises", {})
    return [config.parent / entry[key] for entry in table.values() for key in ("file",) if isinstance(entry, dict)]


def init(folder: Path, exercises: list[str] | None = None, name: str | None = None) -> tuple[list[Path], bool]:
    """Write the course under `folder` from its ninja.toml (written first, from `exercises`, when
    there is none). Returns (files written, whether ninja.toml was new). The student starter and
    the autograder are rebuilt each time; ninja.toml is never overwritten."""
    if folder.exists() and not folder.is_dir():
        raise GradeError(f"{folder} is a file, not a folder")
    config = folder / CONFIG
    created: list[Path] = []
    new = not config.exists()
    if new:
        for e in exercises or []:
            if e not in EXERCISES:
                raise GradeError(f"no exercise named {e!r}; known: {', '.join(EXERCISES)}")
        write(config, starting_toml(list(exercises or DEFAULT_EXERCISES), name or folder.resolve().name), created)
    elif exercises:
        raise GradeError(f"{config} already chooses the exercises: edit it (or remove it) instead of --exercises")
    course = load(config)
    if not course.exercises:
        raise GradeError(f"{config}: course.exercises lists none")
    from ninja.grade.batch import read_points

    read_points(config)  # a wrong points table stops here, not on Gradescope
    for exercise in course.exercises:  # an exercise file is copied to students: never one that holds answers
        problem = EXERCISES[exercise].handout_problem()
        if problem:
            raise GradeError(problem)
    student, autograder = folder / "student", folder / "autograder"
    for where in (student, autograder):
        package_without_solutions(where / PACKAGE_COPY, config, course)
    requirements = release.pinned_requirements(dependencies())
    wheel = release.build_wheel(student / PACKAGE_COPY, folder / "release", requirements)
    shutil.copy(wheel, autograder / wheel.name)
    for exercise in course.exercises:
        write(student / "exercises" / f"{exercise}.py", EXERCISES[exercise].template.read_text(), created)
    write(student / "README.md", student_readme(course, requirements), created)
    write(student / CONFIG, config.read_text(encoding="utf-8"), created)
    for source in exercise_files(config):  # the course's own exercises, beside its ninja.toml
        relative = source.relative_to(config.parent)
        for place in (student, autograder):
            write(place / relative, source.read_text(encoding="utf-8"), created)
            strip.strip_files([place / relative], EXERCISES.values(), course.hints)  # hints above the level
    write(student / ".github" / "workflows" / "grade.yml", workflow(course, wheel, requirements), created)
    install = release.install_lines(requirements, f"/autograder/source/{wheel.name}")
    write(autograder / "setup.sh", SETUP_SH.format(install="\n".join(install)), created, executable=True)
    write(autograder / "run_autograder", RUN_AUTOGRADER.format(), created, executable=True)
    write(autograder / CONFIG, config.read_text(encoding="utf-8"), created)
    created += [student / PACKAGE_COPY, autograder / PACKAGE_COPY, autograder / wheel.name, wheel]
    zip_folder(autograder, folder / "autograder.zip")
    created.append(folder / "autograder.zip")
    return created, new


def deadline_commands(folder: Path, clones: str = "student-repos") -> list[str]:
    """What grades every student's repository from the instructor's side, by the instructor's own
    ninja.toml: nothing a student can edit (their workflow, their ninja.toml) takes part."""
    config = shlex.quote(str(folder / CONFIG))
    where = shlex.quote(clones.rstrip("/"))
    outs = " ".join(f"--out {out}" for out in ("gradebook:grades.csv", "report.html", "json:grades.json",
                                               f"gradescope:{shlex.quote(str(folder / 'results'))}"))  # fmt: skip
    return [
        "# At the deadline, from your side: every student's repository as it is then, graded by your",
        "# ninja.toml (a student can edit any workflow in their own repository; nothing of theirs counts here).",
        f"mkdir -p {where} && cd {where} && gh classroom clone student-repos -a ASSIGNMENT_ID && cd -",
        f"ninja grade {where}/*-submissions/*/ --config {config} {outs}",
        "# add --roster roster.csv (id, email, name, github) and --out canvas:canvas.csv, moodle:moodle.csv,",
        "# gradescope-scores:scores.csv for the gradebooks; --similarity pairs.csv for copied backward code",
    ]
