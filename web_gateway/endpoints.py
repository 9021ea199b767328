"""Chat server addresses the gateway may connect to (``--upstreams``): parsing, no I/O.

A cluster's nodes share everything through Redis and PostgreSQL, so any node serves any user; the
gateway lists them all and spreads its connections over them (``upstream.UpstreamPool``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tcp_client.config import SessionConfig

UNIX_PREFIX = "unix:"


@dataclass(frozen=True)
class Endpoint:
    """One chat server node: ``host``:``port`` over TCP, or a Unix socket path."""

    host: str = ""
    port: int = 0
    unix_socket: str | None = None

    def __str__(self) -> str:
        if self.unix_socket:
            return UNIX_PREFIX + self.unix_socket
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def applied_to(self, config: SessionConfig, dial_timeout: float | None = None) -> SessionConfig:
        """``config`` pointed at this node (nick, WEBIRC, TLS and the rest kept)."""
        return dataclasses.replace(
            config, host=self.host, port=self.port, unix_socket=self.unix_socket,
            dial_timeout=dial_timeout if dial_timeout is not None else config.dial_timeout,
        )


def parse_endpoint(text: str, default_port: int) -> Endpoint:
    """``host:port``, ``[v6addr]:port``, ``host`` (``default_port``) or ``unix:/path``.

    Raises:
        ValueError: naming the entry and what is wrong with it.
    """
    text = text.strip()
    if text.startswith(UNIX_PREFIX):
        path = text[len(UNIX_PREFIX):]
        if not path:
            raise ValueError(f"upstream {text!r}: no socket path after 'unix:'")
        return Endpoint(unix_socket=path)
    host, port_text = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"upstream {text!r}: write an IPv6 address as [addr]:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        raise ValueError(f"upstream {text!r}: write an IPv6 address as [addr]:port")
    if not host:
        raise ValueError(f"upstream {text!r}: no host")
    if not port_text:
        return Endpoint(host, default_port)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"upstream {text!r}: the port must be a number from 1 to 65535")
    return Endpoint(host, int(port_text))


def parse_upstreams(value: str, default_port: int) -> tuple[Endpoint, ...]:
    """The comma-separated ``upstreams`` setting, in order, each node once."""
    found: list[Endpoint] = []
    for part in value.split(","):
        if part.strip():
            endpoint = parse_endpoint(part, default_port)
            if endpoint not in found:
                found.append(endpoint)
    return tuple(found)
