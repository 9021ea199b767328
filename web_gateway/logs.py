"""Quieter uvicorn logs for ``tcpchat gateway`` (and so for ``tcpchat up``).

- The admin page polls the API every ``admin_poll_interval`` seconds; a line per poll would bury
  everything else, so successful polls are logged at DEBUG (``--log-level debug`` shows them).
- uvicorn's "Uvicorn running on ... (Press CTRL+C to quit)" is dropped: ``serve.run`` prints the
  address itself (``listening on HOST:PORT`` and the URL), and under ``tcpchat up`` the hint was
  wrong twice over (Ctrl-C goes to the supervisor, which says what it is doing).
"""

from __future__ import annotations

import logging

POLLED_PATHS = frozenset({"/api/admin/connections", "/api/rooms", "/api/admin/upstreams"})
"""What the admin page (top-level ``static/admin.js``, ``refresh``) fetches on every poll."""


class PollingToDebug(logging.Filter):
    """On ``uvicorn.access``: a successful GET of a polled path becomes a DEBUG record."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn: '%s - "%s %s HTTP/%s" %d' % (client, method, path?query, http_version, status)
        if not (isinstance(args, tuple) and len(args) == 5 and args[1] == "GET"):
            return True
        path, status = str(args[2]).split("?", 1)[0], args[4]
        if path not in POLLED_PATHS or not (isinstance(status, int) and 200 <= status < 300):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class NoQuitHint(logging.Filter):
    """On ``uvicorn.error``: drop "Uvicorn running on ... (Press CTRL+C to quit)"."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "(Press CTRL+C to quit)" not in str(record.msg)


def quiet_uvicorn() -> None:
    """Install both filters (once; uvicorn's logging setup keeps a logger's filters)."""
    for name, kind in (("uvicorn.access", PollingToDebug), ("uvicorn.error", NoQuitHint)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
