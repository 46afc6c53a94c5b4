"""`from ninja import cmp` when ninja/__init__.py is not backprop-ninja's: PyPI's `ninja` (the build
system) wrote its own over ours, or `pip uninstall ninja` removed it (ninja/clash.py). Python then
imports this module for the name, which says once what happened and stands in for the function.
With our __init__.py, `from ninja import cmp` never comes here."""

import sys

from ninja import clash
from ninja.notebook_cmp import cmp

clash.warn()
sys.modules[__name__] = cmp  # type: ignore[assignment]  # `from ninja import cmp` and `ninja.cmp` are the function, as with our __init__.py
