"""The wheel's build hook: the solutions go into ninja/_bundled/solutions unless
NINJA_WITHOUT_SOLUTIONS=1, for a wheel students install (`ninja solution` then says where solutions
come from). The templates are always in (pyproject.toml's force-include)."""

import os

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SolutionsHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if os.environ.get("NINJA_WITHOUT_SOLUTIONS", "") not in ("", "0"):
            return
        build_data["force_include"][os.path.join(self.root, "solutions")] = "ninja/_bundled/solutions"
