"""IRCv3 labeled-response on formatted bytes: tag one command's whole response with its label.

Sans-I/O: a command's ``ResponseBuffer`` (``state/responses.py``) collects what a labelled command
produced and hands it here when it is flushed.
"""

from __future__ import annotations

from .message import escape_tag_value

MAX_LABEL_BYTES = 64
"""The spec's limit on a label value; longer labels are ignored (the reply goes unlabelled)."""


def add_tag(line: bytes, key: str, value: str) -> bytes:
    """Prepend tag ``key=value`` to one formatted line, merging with the tags it already has."""
    item = f"{key}={escape_tag_value(value)}".encode()
    if line[:1] == b"@":
        return b"@" + item + b";" + line[1:]
    return b"@" + item + b" " + line


def has_batch_tag(line: bytes) -> bool:
    """True when ``line`` already carries a ``batch`` tag (it belongs to a batch of its own)."""
    if line[:1] != b"@":
        return False
    head = line[: line.find(b" ")]
    return head.startswith(b"@batch=") or b";batch=" in head


def label_response(chunks: list[bytes], label: str, server: str, batch_id: str | None) -> list[bytes]:
    """The labelled form of one command's response (``chunks`` hold whole CRLF-ended lines).

    No line: a labelled ``ACK``. One line: the label on it. More: a ``labeled-response`` batch
    when the client has ``batch`` (``batch_id`` given), else the label on the first line only.
    Lines already inside a batch of their own keep their tag (that batch nests in ours).
    """
    lines = [ln + b"\r\n" for chunk in chunks for ln in chunk.split(b"\r\n") if ln]
    if not lines:
        return [add_tag(f":{server} ACK\r\n".encode(), "label", label)]
    if len(lines) == 1 or batch_id is None:
        return [add_tag(lines[0], "label", label), *lines[1:]]
    start = add_tag(f":{server} BATCH +{batch_id} labeled-response\r\n".encode(), "label", label)
    body = [ln if has_batch_tag(ln) else add_tag(ln, "batch", batch_id) for ln in lines]
    return [start, *body, f":{server} BATCH -{batch_id}\r\n".encode()]
