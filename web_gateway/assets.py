"""Where the page's files are: the top-level ``static/`` and ``templates/`` folders of a checkout, or,
installed from a wheel, the same folders shipped as the package ``tcpchat_assets`` (see setup.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
PACKAGE = "tcpchat_assets"


def asset_dir(name: str) -> Path:
    """The folder ``static`` or ``templates``: the checkout's when running from one (editable
    install, tests), else the installed package's."""
    here = CHECKOUT / name
    if (CHECKOUT / "web_gateway").is_dir() and (CHECKOUT / "setup.py").is_file() and here.is_dir():
        return here
    spec = importlib.util.find_spec(f"{PACKAGE}.{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the page's {name}/ folder is missing: reinstall tcpchat (pip install .)")
    return Path(next(iter(spec.submodule_search_locations)))


STATIC_DIR = asset_dir("static")
TEMPLATES_DIR = asset_dir("templates")
