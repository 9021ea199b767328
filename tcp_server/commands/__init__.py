"""IRC command handlers, one module per topic, registered in ``COMMANDS``."""

from . import channels, messaging, modes, operator, queries, registration  # noqa: F401  (register)
from .table import COMMANDS, Command, dispatch, unknown_command

__all__ = ["COMMANDS", "Command", "dispatch", "unknown_command"]
