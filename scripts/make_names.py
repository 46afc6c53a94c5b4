"""Regenerate ninja/makemore/data/names.txt, the corpus `ninja` uses when no --data file is given.

The names are the US Census Bureau's 1990 lists of first names (public domain), as shipped by the
PyPI package `names` (MIT; files dist.female.first and dist.male.first). They are lowercased, kept
when made of a-z only, deduplicated, and written in the lists' order (most frequent first).
Makemore's own names.txt comes from US Social Security records; this corpus has the same flavour
and lets everything work offline out of the box.

    pip install names==0.3.0 && python scripts/make_names.py
"""

from pathlib import Path

import names

OUT = Path(__file__).resolve().parent.parent / "ninja" / "makemore" / "data" / "names.txt"


def census_first_names() -> list[str]:
    words: list[str] = []
    for key in ("first:female", "first:male"):
        with open(names.FILES[key]) as lines:
            words += [line.split()[0].lower() for line in lines if line.strip()]
    return list(dict.fromkeys(w for w in words if w.isascii() and w.isalpha()))


if __name__ == "__main__":
    words = census_first_names()
    OUT.write_text("\n".join(words) + "\n")
    print(f"wrote {len(words)} names to {OUT}")
