"""Where the files shipped beside the code are: the kiosk, the display and the example configuration.

They live at the project root (``kiosk/``, ``display/``, ``config.example.toml``: the product
card fixes that layout), and a wheel carries them inside the package (``setup.py`` copies them
in), so ``pip install .`` serves the devices' pages without the source tree.  A checkout or an
editable install has no copy in the package and finds them at the root.  Only the standard
library here: ``queue-app`` reads the example configuration before the async mode is prepared.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The project root of a checkout; in an installed package, the site-packages folder.
PROJECT_ROOT = PACKAGE_DIR.parent


def bundled_path(name: str) -> Path:
    """``name`` (``kiosk``, ``display``, ``config.example.toml``) inside the package, else at the project root."""
    inside = PACKAGE_DIR / name
    return inside if inside.exists() else PROJECT_ROOT / name
