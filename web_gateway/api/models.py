"""The HTTP API's JSON shapes (pydantic): what the OpenAPI schema publishes and responses obey."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TEXT_BYTES = 400
"""Longest message text the API accepts (UTF-8 bytes): one IRC line with the server's prefix and
tags still fits in 512 bytes, so a posted message is never split or cut."""


class ErrorBody(BaseModel):
    """Every error response: ``{"detail": "what went wrong and what to do"}``."""

    detail: str


class IrcStatus(BaseModel):
    """The gateway's operator link to the TCP server."""

    connected: bool
    server: str = Field(description="host:port of the TCP chat server (the node the link is on)")
    nick: str | None = None
    operator: bool = Field(False, description="The link is an IRC operator (admin data available)")
    history: bool = Field(False, description="The server offers draft/chathistory")
    reason: str | None = Field(None, description="Why the link is down")


class Upstream(BaseModel):
    """One chat server node the gateway connects users to (``--upstreams``)."""

    address: str = Field(description="host:port or unix:/path")
    state: Literal["up", "down", "unknown"] = Field(description="unknown: not tried yet")
    down_since: int | None = Field(None, description="Unix time of the first failure in a row (down only)")
    reason: str | None = Field(None, description="Why the last connection failed (down only)")


class UpstreamList(BaseModel):
    upstreams: list[Upstream] = Field(description="Every node, in the configured order")


class Health(BaseModel):
    """Liveness of the gateway and of its link to the TCP server (``ok`` while any node answers;
    ``upstreams`` shows each node)."""

    status: Literal["ok", "degraded"]
    gateway: Literal["ok"] = "ok"
    irc: IrcStatus
    upstreams: list[Upstream] = Field(default_factory=list, description="Every node, in the configured order")


class Room(BaseModel):
    """A room as ``LIST`` reports it (modes and message counts need the operator link)."""

    name: str
    member_count: int
    topic: str
    modes: str | None = Field(None, description="Channel modes, e.g. +nt (operator link only)")
    messages: int | None = Field(None, description="Messages sent to the room since it was created")
    messages_per_minute: float | None = Field(
        None, description="Rate over the last minute of samples (null until two samples exist)"
    )
    created: int | None = Field(None, description="Unix time the room was created")


class RoomList(BaseModel):
    rooms: list[Room]


class Member(BaseModel):
    nick: str
    prefix: str = Field("", description="Highest member mode as a NAMES prefix: @ operator, + voice")


class RoomDetail(Room):
    members: list[Member]


class ChatMessage(BaseModel):
    """One message from the room's history (or one just posted)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str | None = Field(None, description="Server-assigned msgid")
    time: str | None = Field(None, description="Server time, ISO 8601 UTC")
    from_: str = Field(alias="from", description="Sender's nick")
    text: str
    kind: Literal["privmsg", "notice", "action"] = "privmsg"


class MessagePage(BaseModel):
    room: str
    messages: list[ChatMessage] = Field(description="Oldest first")


class PostMessage(BaseModel):
    """Body of ``POST /api/rooms/{room}/messages``."""

    text: str = Field(min_length=1, description=f"One line of text, at most {MAX_TEXT_BYTES} UTF-8 bytes")

    @field_validator("text")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("text must be one line (no CR, LF or NUL)")
        if not value.strip():
            raise ValueError("text must not be blank")
        if len(value.encode()) > MAX_TEXT_BYTES:
            raise ValueError(f"text is longer than {MAX_TEXT_BYTES} UTF-8 bytes")
        return value


class Posted(ChatMessage):
    room: str


class Connection(BaseModel):
    """One socket the TCP server holds (from ``STATS l`` and its vendor tags)."""

    id: int
    nick: str
    registered: bool
    transport: str = Field(description="tcp, tls or web")
    ip: str = Field(description="Real address (for web users, the browser's, via WEBIRC)")
    port: int
    address: str = Field(description="ip:port as one string")
    gateway: str | None = None
    channels: list[str]
    signon: int = Field(description="Unix time the connection was accepted")
    connected_seconds: int
    idle_seconds: int
    messages_in: int
    messages_out: int
    bytes_in: int
    bytes_out: int
    sendq: int = Field(description="Bytes queued to the client now")
    oper: bool
    account: str | None = Field(None, description="The account the connection is logged in to")
    admin_link: bool = Field(False, description="This is the gateway's own operator link")
    node: str | None = Field(
        None, description="Cluster node the connection is on (null when the server runs alone)"
    )


class Totals(BaseModel):
    connections: int
    registered: int
    by_transport: dict[str, int]
    by_node: dict[str, int] = Field(default_factory=dict, description="Connections per cluster node (empty alone)")
    messages_in: int
    messages_out: int
    bytes_in: int
    bytes_out: int
    sendq: int


class ConnectionList(BaseModel):
    connections: list[Connection]
    totals: Totals


class Killed(BaseModel):
    id: int
    nick: str
    reason: str
