"""How often the grading audit flags honest work: every gradable file in the folders given.

    python bench/audit_corpus.py FOLDER... [--show]

Each FOLDER is read as `ninja grade` reads a submission (ninja/grade/discover.py: makemore files and
notebooks, CS231n's files in their layout), prepared as grading prepares it (the notebook's graded
cells after the template's forward, the file decoded as Python does, its siblings), and audited.
Prints the files audited and those flagged, per exercise, and with --show each finding. Meant for
the repository's own templates and solutions and for public learners' repositories (fetched into a
temporary folder, never committed): on honest work, every flag is a false flag.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ninja.grade import discover, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--show", action="store_true", help="print every finding")
    args = parser.parse_args()
    audited, flagged, unreadable = Counter(), Counter(), []
    scratch = jobs.Scratch()
    try:
        work = []
        for folder in args.folders:
            try:
                work += [found.as_work() for found in discover.discover([folder], None)]
            except discover.GradeError as e:  # a notebook with no gradient cell, say: not a submission
                unreadable.append(str(e))
        for i, (submission, exercise, path) in enumerate(work):
            if exercise is None or path is None:
                continue
            try:
                prepared = jobs.prepare(i, exercise, path, submission, scratch, [{}])
            except jobs.NotGradable as e:
                unreadable.append(f"{path}: {e}")
                continue
            finally:
                scratch.remove(i)
            audited[exercise.name] += 1
            findings = [f for f in prepared.findings if not f.syntax]
            if findings:
                flagged[exercise.name] += 1
                if args.show:
                    print(f"{path} ({exercise.name}):", "; ".join(map(str, findings)))
    finally:
        scratch.close()
    for name in sorted(audited):
        print(f"{name}: {audited[name]} audited, {flagged[name]} flagged")
    print(f"total: {sum(audited.values())} audited, {sum(flagged.values())} flagged, {len(unreadable)} not gradable")
    for line in unreadable if args.show else ():
        print("not gradable:", line)


if __name__ == "__main__":
    main()
