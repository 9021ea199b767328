"""``--workers N`` with every client address pinned to one worker.

uvicorn's workers share one listening socket, so the kernel hands a connection to whichever
worker accepts first, and per-address limits (``ws_max_per_ip``, ``http_max_per_ip``, rates),
counted in each worker, allowed N times what they say. Here each worker gets its own socket on
the same port (``SO_REUSEPORT``) and a classic BPF program attached to the group picks the socket
from the client's address (source address modulo N): all connections from one address reach the
same worker, which then counts them all. Linux only; elsewhere the shared socket is used.
"""

from __future__ import annotations

import ctypes
import logging
import socket
import struct
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("tcpchat.gateway")

SO_ATTACH_REUSEPORT_CBPF = 51
"""``setsockopt`` option (linux/asm-generic/socket.h): a classic BPF program choosing the socket."""
_SKF_NET_OFF = -0x100000  # BPF_ABS offsets from the network (IP) header
_LD_W_ABS, _ALU_MOD_K, _RET_A = 0x20, 0x94, 0x16
_SOURCE_OFFSET = {socket.AF_INET: 12, socket.AF_INET6: 20}
"""Where the (last 4 bytes of the) source address sit in the IP header."""


def _choose_by_address(sock: socket.socket, workers: int) -> None:
    """Attach to ``sock``'s reuseport group: socket index = source address % ``workers``."""
    program = b"".join(
        struct.pack("=HBBI", code, 0, 0, k & 0xFFFFFFFF)
        for code, k in (
            (_LD_W_ABS, _SKF_NET_OFF + _SOURCE_OFFSET[sock.family]),
            (_ALU_MOD_K, workers),
            (_RET_A, 0),
        )
    )
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("@HP", len(program) // 8, ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)


def pinned_sockets(host: str, port: int, workers: int, backlog: int) -> list[socket.socket] | None:
    """One listening socket per worker on ``host:port`` (0 picks a free port), connections
    spread by source address; None where the kernel cannot do it (the caller shares one socket)."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks: list[socket.socket] = []
    try:
        for _ in range(workers):
            sock = socket.socket(family, socket.SOCK_STREAM)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(backlog)  # joins the group in this order: the program's index
            sock.set_inheritable(True)
        _choose_by_address(socks[0], workers)
    except OSError as exc:
        log.warning("cannot pin addresses to workers (%s); workers share one socket", exc)
        for sock in socks:
            sock.close()
        return None
    return socks


class PinnedMultiprocess(Multiprocess):
    """uvicorn's supervisor, except that worker ``i`` (and its replacement) serves socket ``i``
    only; the number of workers is fixed (the program divides by it)."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self.slots = sockets

    def _process(self, idx: int) -> Process:
        return Process(self.config, [self.slots[idx]])

    def init_processes(self) -> None:
        for idx in range(self.processes_num):
            process = self._process(idx)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        for idx, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._process(idx)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join()
            self.processes[idx] = new

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                log.error("gateway worker [%s] failed to start, stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.info("gateway worker [%s] died; restarting it", process.pid)
            self.processes[idx] = self._process(idx)
            self.processes[idx].start()

    def handle_ttin(self) -> None:
        log.info("the number of gateway workers is fixed while addresses are pinned to them")

    handle_ttou = handle_ttin
