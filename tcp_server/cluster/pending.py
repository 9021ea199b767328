"""A JOIN on its way through Redis: what the joiner sees and sends waits until it is back."""

from __future__ import annotations

from collections.abc import Callable

from ..flood import FloodControl as InputGate
from ..state import Client
from ..state.responses import ResponseBuffer


def input_gate(client: Client) -> InputGate | None:
    """The connection whose reading a Redis round trip of ``client`` pauses (None in memory)."""
    outbox = client.outbox
    if isinstance(outbox, ResponseBuffer):  # standing in while the (labelled) command runs
        outbox = outbox.outbox
    return outbox if isinstance(outbox, InputGate) else None


class PendingJoin:
    """A JOIN on its way through Redis: the joiner's output waits in a hold until it is back,
    and so do the lines it sent after the JOIN (``PRIVMSG #x`` then finds it a member, or
    refused, as on a single server)."""

    __slots__ = ("client", "run", "hold", "input")

    def __init__(self, client: Client, run: Callable[[], None]) -> None:
        self.client = client
        self.run = run
        self.hold = client.outbox.hold()
        self.input = input_gate(client)
        if self.input is not None:
            self.input.wait_input()

    def __call__(self) -> None:
        """Complete the join in the held place of the joiner's output."""
        if not self.client.gone:
            self.client.outbox.release(self.hold, self.run)
            self._resume()

    def refuse(self, answer: Callable[[], None]) -> None:
        """The check failed: ``answer`` (the numeric) goes out in the held place."""
        if not self.client.gone:
            self.client.outbox.release(self.hold, answer)
            self._resume()

    def _resume(self) -> None:
        if self.input is not None:
            self.input, gate = None, self.input
            gate.resume_input()
