"""Build hook: the wheel carries the kiosk, the display and the example configuration.

Everything else is declared in pyproject.toml.  ``kiosk/``, ``display/`` and
``config.example.toml`` stay at the project root (the product card's layout) and are copied
into the built package as ``queue_app/kiosk``, ``queue_app/display`` and
``queue_app/config.example.toml``, where ``queue_app.bundled`` finds them once installed.
An editable install copies nothing: the code finds them at the root.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Project-root files and folders the installed server needs (MANIFEST.in puts them in the sdist).
BUNDLED = ("kiosk", "display", "config.example.toml")


class BuildPyWithBundledFiles(build_py):
    """``build_py``, then the root's bundled files copied into the package."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        package = Path(self.build_lib) / "queue_app"
        for name in BUNDLED:
            source, target = ROOT / name, package / name
            if source.is_dir():
                # A build folder left from an earlier build must not keep files since removed.
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
            else:
                shutil.copy2(source, target)


setup(cmdclass={"build_py": BuildPyWithBundledFiles})
