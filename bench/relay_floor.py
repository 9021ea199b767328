"""The floor of the gateway hop: a plain asyncio TCP relay, one upstream connection per user.

``python -m bench.relay_floor --irc-port P`` listens on a free loopback port (printed as
``listening on HOST:PORT``) and relays every accepted connection byte for byte to its own
connection to the IRC server: per delivered line one ``recv`` upstream and one ``send``
downstream, nothing else. ``bench.gateway_hop`` runs it in the same run as the gateway, so the
gateway's CPU per frame is read against what the loopback syscalls alone cost on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib


class _Pipe(asyncio.Protocol):
    """One direction's reader: what it receives is written to ``peer``'s transport."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.pending: list[bytes] = []  # bytes that arrived before the peer was connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.pending.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


async def serve(irc_host: str, irc_port: int, unix: str | None = None) -> None:
    loop = asyncio.get_running_loop()

    def accept() -> _Pipe:
        down = _Pipe()

        async def link() -> None:
            try:
                if unix:
                    _, up = await loop.create_unix_connection(_Pipe, unix)
                else:
                    _, up = await loop.create_connection(_Pipe, irc_host, irc_port)
            except OSError:
                if down.transport is not None:
                    down.transport.close()
                return
            up.peer, down.peer = down, up
            for data in down.pending:
                up.transport.write(data)  # type: ignore[union-attr]
            down.pending.clear()

        loop.create_task(link())
        return down

    server = await loop.create_server(accept, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.relay_floor", description=__doc__.splitlines()[0])
    ap.add_argument("--irc-host", default="127.0.0.1")
    ap.add_argument("--irc-port", type=int, required=True)
    ap.add_argument("--irc-unix-socket", default=None, help="reach the server over this Unix socket")
    ap.add_argument("--no-uvloop", action="store_true", help="the plain asyncio loop (the gateway uses uvloop)")
    args = ap.parse_args()
    runner = asyncio.run
    if not args.no_uvloop:
        with contextlib.suppress(ImportError):
            import uvloop

            runner = uvloop.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(args.irc_host, args.irc_port, args.irc_unix_socket))


if __name__ == "__main__":
    main()
