"""The replies to one command of one client (as ergo's ``ResponseBuffer``): labels and batches in one place.

A handler writes what it answers the sender to ``rb`` (``rb.numeric``, ``rb.reply``, ``rb.add``);
lines to other clients go through ``state.relay`` and the bus as before. ``dispatch`` flushes the
buffer after the handler. For a command with a ``label`` tag (IRCv3 labeled-response) the label
is applied there, once: no line gives an ``ACK``, one line carries the label, several become a
``labeled-response`` batch; a reply that is exactly one batch of its own (CHATHISTORY's) carries
the label on that batch's start instead of being wrapped again.

Without a label the buffer writes straight through to the connection: the PRIVMSG hot path pays
for one small object and no copy. With a label it collects, and stands in as the client's outbox
while the command runs, so a line to the sender from shared code (a channel relay that includes
it, ``state.numeric``) is part of the labelled reply too.

A reply that comes later (the echo after the commit, OPER after the hash, CHATHISTORY after the
fetch) takes ``rb.later()``: a reserved place in the connection's output (``ordering.Hold``: the
client's later replies wait behind it) plus the label, applied the same way when it is released.
Pure bookkeeping, no I/O: tests run a command and read the buffer in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..protocol import MAX_LINE_BYTES, Message, add_tag, fit_text, format_line, label_response, parse_line
from ..protocol.labels import has_batch_tag

if TYPE_CHECKING:
    from .client import Client, Outbox
    from .ordering import Hold

_batch_ids = itertools.count(1)


def new_batch_id() -> str:
    """A batch reference unique on this server (batch references only need to be unique per client)."""
    return f"b{next(_batch_ids)}"


def _middle(param: str) -> str:
    """``param`` made safe as a middle parameter (non-empty, no space, no leading ':')."""
    if param and param[0] != ":" and " " not in param:
        return param
    return param.replace(" ", "").lstrip(":") or "*"


def numeric_line(server: str, nick: str, code: str, *params: str) -> bytes:
    """Numeric ``code`` for ``nick`` (``*`` before registration), cut to fit 512 bytes.

    Numerics echo what the client typed (``PRIVMSG a,:b`` -> 401 ``:b``); a middle parameter
    that is empty, has a space or starts with ':' would shift the others, so it is cleaned.
    """
    *middle, last = (nick, *params)
    middle = [_middle(p) for p in middle]
    line = format_line(Message(code, (*middle, last), server))
    if len(line) > MAX_LINE_BYTES:
        last = fit_text(server, code, " ".join(middle), last)
        line = format_line(Message(code, (*middle, last), server))
    return line


def _one_batch(lines: list[bytes]) -> bool:
    """True when ``lines`` (one line each) are exactly one batch: ``BATCH +r`` ... ``BATCH -r``."""
    if len(lines) < 2:
        return False
    first, last = parse_line(lines[0].rstrip(b"\r\n")), parse_line(lines[-1].rstrip(b"\r\n"))
    if first.command != "BATCH" or last.command != "BATCH" or not first.params or not last.params:
        return False
    opened, closed = first.params[0], last.params[0]
    return opened[:1] == "+" and closed[:1] == "-" and opened[1:] == closed[1:] != ""


class ResponseBuffer:
    """What one command answers its sender, labelled and batched when flushed.

    Implements the state layer's ``Outbox`` so it can stand in for the client's while a
    labelled command runs.
    """

    __slots__ = ("server", "client", "outbox", "label", "lines", "nested", "carry")

    def __init__(self, server: str, client: Client, label: str | None = None, outbox: Outbox | None = None) -> None:
        self.server = server
        self.client = client
        self.outbox: Outbox = client.outbox if outbox is None else outbox
        """The connection's own outbox (the buffer may stand in for ``client.outbox``)."""
        self.label = label
        self.lines: list[bytes] | None = None if label is None else []
        """Collected lines while a label waits to be applied; None: lines go straight out."""
        self.nested: list[str] | None = None
        """Open batches (innermost last); added lines carry the innermost one's tag."""
        self.carry: str | None = None
        """The labelled reply's batch while its parts come late (``open_label_batch``): every
        line, those of late parts too, carries its tag."""

    # ---- what handlers write -----------------------------------------------------------
    def add(self, line: bytes) -> None:
        """One formatted line to the sender (tagged with the open batch, if any)."""
        if self.nested and not has_batch_tag(line):
            line = add_tag(line, "batch", self.nested[-1])
        elif self.carry is not None and not has_batch_tag(line):
            line = add_tag(line, "batch", self.carry)
        if self.lines is None:
            self.outbox.send(line)
        else:
            self.lines.append(line)

    def numeric(self, code: str, *params: str) -> None:
        """Numeric ``code`` to the sender: ``:server code nick params...``."""
        self.add(numeric_line(self.server, self.client.nick, code, *params))

    def reply(self, command: str, *params: str) -> None:
        """A server-sourced command (NOTICE, CAP, PONG, FAIL...) to the sender."""
        self.add(format_line(Message(command, params, self.server)))

    def notice(self, text: str) -> None:
        """A server NOTICE to the sender (its nick, or ``*`` before registration)."""
        self.reply("NOTICE", self.client.nick, text)

    def start_batch(self, kind: str, *params: str) -> str | None:
        """Open a batch nested in this reply; None (and no batch) when the client lacks ``batch``."""
        if "batch" not in self.client.caps:
            return None
        ref = new_batch_id()
        self.add(format_line(Message("BATCH", (f"+{ref}", kind, *params), self.server)))
        if self.nested is None:
            self.nested = []
        self.nested.append(ref)
        return ref

    def end_batch(self, ref: str | None) -> None:
        """Close the innermost batch ``ref`` opened by ``start_batch`` (None: nothing was opened)."""
        if ref is None or not self.nested or self.nested[-1] != ref:
            return
        self.nested.pop()
        self.add(format_line(Message("BATCH", (f"-{ref}",), self.server)))

    # ---- labels and late replies -------------------------------------------------------
    def open_label_batch(self) -> str | None:
        """Open the ``labeled-response`` batch now, for a reply made of several parts that come
        late (the echoes of a PRIVMSG to several targets, each after its commit): every part
        carries the batch tag; ``close_label_batch`` ends it after the last. None (nothing done)
        without a label or the ``batch`` capability: the label then goes on the first part."""
        if self.label is None or "batch" not in self.client.caps:
            return None
        label = self.take_label()
        assert label is not None
        ref = new_batch_id()
        start = format_line(Message("BATCH", (f"+{ref}", "labeled-response"), self.server))
        self.outbox.send(add_tag(start, "label", label))
        self.carry = ref
        return ref

    def close_label_batch(self, ref: str | None) -> None:
        """End the batch ``open_label_batch`` opened, in the place after every part reserved so far."""
        if ref is None:
            return
        self.carry = None
        self.later().send(format_line(Message("BATCH", (f"-{ref}",), self.server)))

    def take_label(self) -> str | None:
        """Own the label (for a reply that comes later): what is collected goes out unlabelled."""
        label, self.label = self.label, None
        lines, self.lines = self.lines, None
        for line in lines or ():
            self.outbox.send(line)
        return label

    def later(self, label: str | None = None) -> Late:
        """Reserve the place of a reply that comes after the command returns, with the label.

        ``label``: one taken earlier (a multiline batch's, from its opening ``BATCH``) instead of
        this command's own. Later output to the client waits behind the reserved place.
        """
        own = self.take_label()  # what was collected goes out first, before the reserved place
        return Late(self, self.outbox.hold(), own if label is None else label, self.carry)

    def render(self) -> list[bytes]:
        """The collected reply in its final form (labelled), leaving the buffer writing through."""
        lines, label = self.lines, self.label
        self.lines = self.label = None
        if lines is None or label is None:
            return lines or []
        lines = [ln + b"\r\n" for chunk in lines for ln in chunk.split(b"\r\n") if ln]
        if _one_batch(lines):  # already one batch (CHATHISTORY's, a multiline echo): label its start
            return [add_tag(lines[0], "label", label), *lines[1:]]
        batch_id = new_batch_id() if "batch" in self.client.caps else None
        return label_response(lines, label, self.server, batch_id)

    def flush(self) -> None:
        """Send the collected reply, labelled (``dispatch`` calls this after the handler)."""
        if self.lines is not None:
            for line in self.render():
                self.outbox.send(line)

    # ---- Outbox, while standing in for the client's ------------------------------------
    def send(self, data: bytes) -> None:
        """A line to the sender from shared code (a relay that includes it): part of the reply."""
        if self.lines is None:
            self.outbox.send(data)
        else:
            self.lines.append(data)

    def deliver(self, data: bytes) -> None:
        """A channel line (``Outbox.deliver``) to the sender while it stands in: as ``send``."""
        if self.lines is None:
            self.outbox.deliver(data)
        else:
            self.lines.append(data)

    def close(self, error_line: bytes) -> None:
        """The command closes the connection: its reply goes out first, then ``ERROR`` (which
        answers a command that said nothing else, as QUIT: no ``ACK`` before it)."""
        if self.lines:
            self.flush()
        self.lines = self.label = None
        self.outbox.close(error_line)

    @property
    def sendq_bytes(self) -> int:
        """The connection's queued bytes plus what this reply collected."""
        return self.outbox.sendq_bytes + sum(map(len, self.lines or ()))

    def hold(self) -> Hold:
        """Shared code reserves a late reply (``guarded_check``): the reply so far goes out
        labelled first (as an ``ACK`` when empty); the late one goes unlabelled."""
        self.flush()
        return self.outbox.hold()

    def release(self, hold: Hold, write: Callable[[], None] | None = None) -> None:
        """Delegated to the connection."""
        self.outbox.release(hold, write)

    def release_paced(self, hold: Hold, lines: Iterable[bytes], done: Callable[[], None] | None = None) -> None:
        """Delegated to the connection."""
        self.outbox.release_paced(hold, lines, done)


class Late:
    """A reply that comes after its command returned: a reserved place in the output and the label.

    When it is released the command's own buffer is armed again with the label, so code that
    kept ``rb`` (a callback written inside the handler) writes the late reply through it.
    """

    __slots__ = ("rb", "hold", "label", "carry")

    def __init__(self, rb: ResponseBuffer, hold: Hold, label: str | None, carry: str | None = None) -> None:
        self.rb = rb
        self.hold = hold
        self.label = label
        self.carry = carry
        """The labelled reply's batch this late part belongs to (``open_label_batch``), if any."""

    @classmethod
    def unlabelled(cls, server: str, client: Client) -> Late:
        """A late reply answering no command of its own (history replayed on JOIN)."""
        outbox = client.outbox
        hold = outbox.hold()
        if isinstance(outbox, ResponseBuffer):  # standing in while a command runs
            outbox = outbox.outbox
        return cls(ResponseBuffer(server, client, None, outbox), hold, None)

    def buffer(self) -> ResponseBuffer:
        """The command's buffer, armed for the late reply with the command's label."""
        rb = self.rb
        rb.label = self.label
        rb.lines = None if self.label is None else []
        rb.nested = None
        rb.carry = self.carry
        return rb

    def release(self, write: Callable[[ResponseBuffer], object] | None = None) -> None:
        """Write the reply into its place (labelled like any reply); what waited goes out after it.

        Without ``write`` the place is given up with nothing in it (the client left, say).
        """
        outbox = self.rb.outbox
        if write is None:
            outbox.release(self.hold)
            return

        def fill() -> None:
            rb = self.buffer()
            client = rb.client
            if rb.lines is None:  # no label: nothing to collect
                write(rb)
                return
            stood_in, client.outbox = client.outbox, rb  # shared code's lines to it are the reply too
            try:
                write(rb)
            finally:
                if client.outbox is rb:
                    client.outbox = stood_in
                rb.flush()

        outbox.release(self.hold, fill)

    def send(self, *lines: bytes) -> None:
        """Release with these formatted lines."""
        def write(rb: ResponseBuffer) -> None:
            for line in lines:
                rb.add(line)

        self.release(write)

    def release_paced(self, write: Callable[[ResponseBuffer], object], done: Callable[[], None] | None = None) -> None:
        """Release with a long reply sent as the socket drains (CHATHISTORY): ``write`` builds it."""
        rb = self.buffer()
        rb.lines = []  # collect even without a label: the lines are handed over at once
        write(rb)
        self.rb.outbox.release_paced(self.hold, rb.render(), done)
