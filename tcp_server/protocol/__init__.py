"""The sans-I/O IRC protocol core shared by the server, the client and the gateway.

No asyncio, no sockets: bytes in, messages out (a test asserts this).
"""

from .casemap import CASEMAPPING, CHANTYPES, casefold, is_channel_name, is_valid_channel, is_valid_nick
from .errors import BadCharacter, InputTooLong, MalformedLine, ProtocolError
from .framing import LINE_TOO_LONG, LineBuffer, LineTooLong
from .labels import MAX_LABEL_BYTES, add_tag, label_response
from .message import (
    MAX_CLIENT_TAG_BYTES,
    MAX_LINE_BYTES,
    MAX_TAG_BYTES,
    TEXT_COMMANDS,
    Message,
    chat_run_texts,
    client_tag_bytes,
    escape_tag_value,
    fit_text,
    format_line,
    format_params,
    format_tags,
    parse_line,
    parse_tags,
    split_chat_line,
    unescape_tag_value,
)
from .names import VENDOR_TAG_PREFIX, nick_of
from .ratelimit import KeyedBuckets, TokenBucket

__all__ = [
    "CASEMAPPING",
    "CHANTYPES",
    "LINE_TOO_LONG",
    "MAX_CLIENT_TAG_BYTES",
    "MAX_LABEL_BYTES",
    "MAX_LINE_BYTES",
    "MAX_TAG_BYTES",
    "VENDOR_TAG_PREFIX",
    "TEXT_COMMANDS",
    "BadCharacter",
    "InputTooLong",
    "KeyedBuckets",
    "LineBuffer",
    "LineTooLong",
    "MalformedLine",
    "Message",
    "ProtocolError",
    "TokenBucket",
    "add_tag",
    "casefold",
    "client_tag_bytes",
    "escape_tag_value",
    "fit_text",
    "format_line",
    "format_params",
    "format_tags",
    "is_channel_name",
    "is_valid_channel",
    "is_valid_nick",
    "label_response",
    "nick_of",
    "parse_line",
    "split_chat_line",
    "chat_run_texts",
    "parse_tags",
    "unescape_tag_value",
]
