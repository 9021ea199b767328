"""The asyncio IRC client session (shared by the CLI and the web gateway) and the terminal UI.

- ``session``: ``ClientSession`` -- register, auto-PONG, reconnect with backoff, rejoin, gap fill,
  bounded event queue (the library the web gateway's bridge and ``tcpchat connect`` use);
- ``link``, ``registration``, ``gapfill``, ``events``, ``lines``, ``commands``: its parts;
- ``model`` and ``slash``: what a chat user sees and types, shared by both terminal modes;
- ``plain`` (line mode) and ``tui`` (full screen, Textual): the two faces of ``tcpchat connect``.
"""
