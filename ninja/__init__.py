"""backprop-ninja: check hand-written backprop against PyTorch autograd, line by line."""

__version__ = "0.1.0"
__backprop_ninja__ = True  # PyPI's `ninja` (the build system) may put its own __init__.py here: ninja/clash.py


def __getattr__(name: str):
    # `from ninja import cmp` without importing the CLI (typer, rich) or anything else up front
    if name == "cmp":
        from ninja.notebook_cmp import cmp

        return cmp
    raise AttributeError(f"module 'ninja' has no attribute {name!r}")
