"""The tcpchat command line (server, gateway, up, connect)."""

from tcp_server import __version__

__all__ = ["__version__"]
