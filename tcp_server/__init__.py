"""tcpchat's IRC server: protocol core, state, commands, asyncio transport."""

__version__ = "0.1.0"
"""The version of tcpchat (all three packages); pyproject.toml reads it from here."""
