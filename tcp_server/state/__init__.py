"""Server state (clients, channels) kept apart from asyncio I/O: plain objects, no awaits."""

from .bus import Bus, LocalBus
from .channel import Channel
from .client import TAGS_ALL, TAGS_NONE, TAGS_TIME, TIMED_LEVELS, Client, Outbox, display_host
from .delivery import MsgIdGenerator, build_variants, server_time
from .registry import VERSION, ServerState
from .responses import Late, ResponseBuffer

__all__ = [
    "TAGS_ALL",
    "TAGS_NONE",
    "TAGS_TIME",
    "TIMED_LEVELS",
    "VERSION",
    "Bus",
    "Channel",
    "LocalBus",
    "Late",
    "ResponseBuffer",
    "Client",
    "MsgIdGenerator",
    "Outbox",
    "ServerState",
    "build_variants",
    "display_host",
    "server_time",
]
