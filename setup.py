"""The templates' source is the top-level `templates/`; the wheel carries a copy
inside the package, where `mailgate.config` looks first. Everything else about
the build is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads them from the checkout
            target = Path(self.build_lib) / "mailgate" / "templates"
            shutil.rmtree(target, ignore_errors=True)  # a template deleted since the last build
            shutil.copytree("templates", target)


setup(cmdclass={"build_py": BuildPyWithTemplates})
