"""The console scripts `ninja` and `backprop-ninja`, once backprop_ninja.py has found our package
(not another one named `ninja`). Decides first, before importing the CLI (typer,
rich) or torch, whether the call is for the ninja build system: torch's C++ extension builds call
`ninja --version` and `ninja -v`, and should not wait for torch to import."""

import sys

from ninja.buildninja import hand_over


def command_names() -> set[str]:
    from ninja.cli import command_names

    return command_names()


def main() -> None:
    hand_over(sys.argv[1:], command_names)
    from ninja import clash

    clash.warn()  # PyPI's `ninja` wrote over our files: say so, and go on (nothing here needs them)
    try:
        from ninja.cli import main as cli
    except KeyboardInterrupt:  # Ctrl-C while torch or typer imports
        raise SystemExit(130) from None
    cli()
