"""The one client core, shared by the CLI and the web gateway, and the terminal UI.

- ``protocol``: ``ClientProtocol``, the sans-I/O session (bytes in, typed events and bytes out):
  ``registration`` (the handshake state machine), ``requests`` (reply collectors), ``decode``
  (IRC -> the typed, frozen events of ``events``), ``lines`` (safe outgoing lines);
- ``link`` (an ``asyncio.Protocol`` driving the core) and ``session`` (``ClientSession``: connect,
  reconnect with backoff, rejoin, ``gapfill``, bounded ``queue``): the thin asyncio adapter, set up
  by one ``config.SessionConfig``;
- ``model`` and ``slash``: what a chat user sees and types, shared by both terminal modes;
- ``plain`` (line mode) and ``tui`` (full screen, Textual): the two faces of ``tcpchat connect``.
"""
