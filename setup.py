"""Only what pyproject.toml cannot say: the top-level ``static/`` and ``templates/`` folders ship as
the package ``tcpchat_assets`` (its ``static`` and ``templates`` subpackages), so a gateway installed
from a wheel finds them next to its code (``web_gateway/assets.py``). Everything else is in
pyproject.toml."""

from setuptools import find_packages, setup

ASSETS = {"tcpchat_assets.static": "static", "tcpchat_assets.templates": "templates"}

setup(
    packages=find_packages(include=["tcpchat*", "tcp_server*", "tcp_client*", "web_gateway*"]) + list(ASSETS),
    package_dir=ASSETS,
    package_data={"tcpchat_assets.static": ["*", "*/*"], "tcpchat_assets.templates": ["*"]},
)
