"""IRC command handlers, one module per topic, registered in ``COMMANDS``."""

from . import (  # noqa: F401  (register)
    channels,
    history,
    messaging,
    modes,
    operator,
    queries,
    registration,
)
from .table import COMMANDS, Command, dispatch, unknown_command

__all__ = ["COMMANDS", "Command", "dispatch", "unknown_command"]
