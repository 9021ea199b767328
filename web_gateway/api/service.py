"""What the admin page and the HTTP API ask of the TCP server, over the two upstream links.

The operator link answers the queries (``STATS l``, ``LIST``, ``NAMES``, ``KILL``,
``CHATHISTORY``); the poster link (nick ``api_nick``, an ordinary user) posts messages, joining a
room the first time it posts there and staying in it. Failures become ``HTTPException`` with the
status and a message the caller can act on; an unreachable server is always 503 with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from typing import Any

from fastapi import HTTPException

from tcp_server.protocol import Message, TokenBucket, casefold, nick_of
from tcp_server.protocol import numerics as N

from ..metrics import metrics_of
from ..oper_link import Until, UpstreamError, UpstreamLink, oper_link, poster_link
from ..settings import GatewaySettings
from .models import (
    ConnectionList,
    Health,
    IrcStatus,
    Killed,
    MessagePage,
    Posted,
    Room,
    RoomDetail,
    Upstream,
)
from .replies import (
    DEFAULT_CHANNEL_LEN,
    failure,
    parse_connections,
    parse_history,
    parse_names,
    parse_rooms,
    to_int,
)

RATE_WINDOW = 60.0
"""Seconds of LIST samples the message rate is computed over."""
RATE_MIN_SPAN = 1.0
"""Samples closer together than this give no rate yet (too noisy)."""
JOIN_REFUSALS = {
    "471": "the room is full (+l)",
    "473": "the room is invite-only (+i)",
    "474": "the API user is banned from the room",
    "475": "the room has a key (+k)",
    N.ERR_TOOMANYCHANNELS: "the API user is in too many rooms",
}
NOT_OPER = (
    "the gateway's operator link is not an IRC operator: set TCPCHAT_OPER_PASSWORD "
    "(the same value for the server and the gateway)"
)
HIDDEN_MODES = frozenset("sp")
"""Rooms with these modes are left out for anonymous callers, as LIST leaves them out."""
MEMBERS_ONLY_MODES = frozenset("spik")
"""Rooms whose history only members (and admins) may read."""
HISTORY_OFF = "history is off on the TCP server (it runs with --no-history), so there are no stored messages"


def _is(*commands: str) -> Until:
    """An end marker: the first reply whose command is one of ``commands``."""

    def until(msg: Message) -> bool:
        return msg.command in commands

    return until


def _hidden(room: Room, modes: frozenset[str], unknown: bool = False) -> bool:
    """True when ``room`` has one of ``modes``; ``unknown`` when its modes are not known (the
    link is no operator, so LIST carried no modes)."""
    if room.modes is None:
        return unknown
    return bool(modes & set(room.modes))


class RateTracker:
    """Messages per minute per room from successive LIST samples of the room's message counter."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[float, int]]] = {}

    def observe(self, rooms: list[Room], now: float | None = None, wall: float | None = None) -> None:
        """Record each room's counter and fill in ``messages_per_minute`` where known.

        Until the samples span a whole ``RATE_WINDOW``, a room whose creation time is known gets
        its rate from that instead (all its messages if it is younger than the window, else its
        average since creation): the first look at the admin page shows a rate, not 0 or nothing.
        """
        now = time.monotonic() if now is None else now
        wall = time.time() if wall is None else wall
        seen = set()
        for room in rooms:
            if room.messages is None:
                continue
            key = casefold(room.name)
            seen.add(key)
            samples = self._samples.setdefault(key, deque())
            if samples and room.messages < samples[-1][1]:
                samples.clear()  # the room was emptied and created again
            if len(samples) >= 2 and now - samples[-2][0] < RATE_MIN_SPAN:
                samples[-1] = (now, room.messages)  # polled again within a second: keep one sample
            else:
                samples.append((now, room.messages))
            while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW:
                samples.popleft()
            (t0, c0), (t1, c1) = samples[0], samples[-1]
            if room.created is not None and t1 - t0 < RATE_WINDOW:
                age = max(wall - room.created, RATE_WINDOW)
                room.messages_per_minute = round(room.messages * 60.0 / age, 2)
            elif t1 - t0 >= RATE_MIN_SPAN:
                room.messages_per_minute = round((c1 - c0) * 60.0 / (t1 - t0), 2)
        for key in set(self._samples) - seen:
            del self._samples[key]


class ChatService:
    """The upstream links of one gateway app and the queries built on them."""

    def __init__(self, settings: GatewaySettings, app: Any) -> None:
        self.settings = settings
        self.app = app
        pool = getattr(app.state, "upstreams", None)
        self.oper = oper_link(settings, pool)
        self.poster = poster_link(settings, pool)
        app.state.oper_link = self.oper
        app.state.poster_link = self.poster
        self.rates = RateTracker()
        self.post_bucket = TokenBucket(settings.api_post_rate, settings.api_post_burst, time.monotonic())
        self._joined: set[str] = set()
        self._joined_generation = -1

    async def close(self) -> None:
        await self.oper.close()
        await self.poster.close()

    def _unavailable(self, exc: UpstreamError) -> HTTPException:
        metrics_of(self.app).upstream_errors.inc()
        return HTTPException(503, exc.reason)

    async def _ask(self, link: UpstreamLink, messages: list[Message], until: Until) -> list[Message]:
        try:
            return await link.request(messages, until)
        except UpstreamError as exc:
            raise self._unavailable(exc) from None

    @property
    def channel_len(self) -> int:
        """CHANNELLEN from the server's 005 (a default until the link has registered)."""
        reg = self.oper.registered
        value = reg.isupport.get("CHANNELLEN", "") if reg else ""
        return to_int(value, DEFAULT_CHANNEL_LEN) or DEFAULT_CHANNEL_LEN

    # ---- health ------------------------------------------------------------------------------
    async def health(self) -> Health:
        """The operator link (connected now if it can be) and every node's state (all dialled,
        at most once per ``upstream_check_interval``)."""

        async def ensure() -> None:
            with contextlib.suppress(UpstreamError):
                await self.oper.ensure()

        _, upstreams = await asyncio.gather(ensure(), self.upstreams())
        reg = self.oper.registered
        irc = IrcStatus(
            connected=self.oper.connected,
            server=self.oper.server or str(self.oper.upstreams.nodes[0].endpoint),
            nick=reg.nick if reg else None,
            operator=bool(reg and self.oper.oper),
            history=bool(reg and "draft/chathistory" in reg.caps),
            reason=None if self.oper.connected else self.oper.last_error,
        )
        return Health(status="ok" if irc.connected else "degraded", irc=irc, upstreams=upstreams)

    async def upstreams(self) -> list[Upstream]:
        """Every node: up, or down since when and why (all dialled, at most once per
        ``upstream_check_interval``)."""
        return [
            Upstream(
                address=n.address, state=n.state, reason=n.reason,
                down_since=None if n.down_since is None else int(n.down_since),
            )
            for n in await self.oper.upstreams.check()
        ]

    # ---- rooms -------------------------------------------------------------------------------
    async def rooms(self, admin: bool = False) -> list[Room]:
        """Every room; without ``admin`` only those an ordinary LIST shows (not +s/+p)."""
        lines = await self._ask(self.oper, [Message("LIST")], _is(N.RPL_LISTEND))
        rooms = parse_rooms(lines)
        self.rates.observe(rooms)
        return rooms if admin else [r for r in rooms if not _hidden(r, HIDDEN_MODES)]

    async def room(self, name: str, admin: bool = False) -> RoomDetail:
        lines = await self._ask(
            self.oper, [Message("LIST", (name,)), Message("NAMES", (name,))], _is(N.RPL_ENDOFNAMES)
        )
        rooms = parse_rooms(lines)
        if not rooms or (not admin and _hidden(rooms[0], HIDDEN_MODES)):
            raise HTTPException(404, f"no room named {name} (a room exists while someone is in it)")
        return RoomDetail(**rooms[0].model_dump(), members=parse_names(lines))

    async def history(
        self, name: str, before: str | None, after: str | None, limit: int, admin: bool = False,
        query: str | None = None,
    ) -> MessagePage:
        """Stored messages (with ``query``: the newest ones containing its words); without ``admin``
        only of an existing public room (what anyone could join and read), never of a secret,
        private, invite-only or keyed one."""
        try:
            await self.oper.ensure()
        except UpstreamError as exc:
            raise self._unavailable(exc) from None
        reg = self.oper.registered
        if reg is None or "draft/chathistory" not in reg.caps:
            raise HTTPException(503, HISTORY_OFF)
        if self.oper.oper is None:  # only an operator may read rooms it is not in
            raise HTTPException(503, NOT_OPER)
        if not admin:
            listed = parse_rooms(await self._ask(self.oper, [Message("LIST", (name,))], _is(N.RPL_LISTEND)))
            if not listed or _hidden(listed[0], MEMBERS_ONLY_MODES, unknown=True):
                raise HTTPException(
                    404, f"no public room named {name} (admins can read the history of any room)"
                )
        server_max = reg.isupport.get("CHATHISTORY", "")
        if to_int(server_max) > 0:
            limit = min(limit, to_int(server_max))
        if query is not None:  # full-text search: the vendor SEARCH command, same batch form
            params: tuple[str, ...] = (name, str(limit), query)
            verb = "SEARCH"
        elif before and after:
            params = ("BETWEEN", name, after, before, str(limit))
        elif before:
            params = ("BEFORE", name, before, str(limit))
        elif after:
            params = ("AFTER", name, after, str(limit))
        else:
            params = ("LATEST", name, "*", str(limit))
        if query is None:
            verb = "CHATHISTORY"

        def until(msg: Message) -> bool:
            if msg.command == "BATCH" and msg.param(0).startswith("-"):
                return True
            return msg.command == "FAIL" or (msg.command.isdigit() and msg.command[0] in "45")

        lines = await self._ask(self.oper, [Message(verb, params)], until)
        err = failure(lines)
        if err is not None:
            raise _history_error(err, name)
        return MessagePage(room=name, messages=parse_history(lines))

    # ---- posting -----------------------------------------------------------------------------
    async def post(self, name: str, text: str) -> Posted:
        wait = self.post_bucket.take(time.monotonic())
        if wait:
            raise HTTPException(
                429,
                f"the API posts at most {self.settings.api_post_rate:g} messages per second; slow down",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        for attempt in range(2):
            await self._join(name)
            lines = await self._ask(self.poster, [Message("PRIVMSG", (name, text))], self._echo_or_error(name))
            err = failure(lines)
            if err is None:
                metrics_of(self.app).api_posts.inc()
                echo = lines[-1]
                return Posted(
                    room=name, id=echo.tags.get("msgid"), time=echo.tags.get("time"),
                    from_=self.poster.nick, text=text, kind="privmsg",
                )
            if err.command == N.ERR_CANNOTSENDTOCHAN and attempt == 0:
                self._joined.discard(casefold(name))  # kicked since we joined: join again
                continue
            break
        raise HTTPException(403, f"the server refused the message: {err.params[-1] if err.params else err.command}")

    def _echo_or_error(self, name: str) -> Until:
        """Our own PRIVMSG echoed back (echo-message: the server accepted it), or an error."""
        folded = casefold(name)

        def until(msg: Message) -> bool:
            if msg.command == "PRIVMSG" and casefold(msg.param(0)) == folded:
                return casefold(nick_of(msg.source)) == casefold(self.poster.nick)
            return msg.command == "FAIL" or (msg.command.isdigit() and msg.command[0] in "45")

        return until

    async def _join(self, name: str) -> None:
        try:
            await self.poster.ensure()
        except UpstreamError as exc:
            raise self._unavailable(exc) from None
        if self._joined_generation != self.poster.generation:
            self._joined, self._joined_generation = set(), self.poster.generation
        folded = casefold(name)
        if folded in self._joined:
            return
        listed = await self._ask(self.oper, [Message("LIST", (name,))], _is(N.RPL_LISTEND))
        if not parse_rooms(listed):
            raise HTTPException(404, f"no room named {name}: the API posts only to rooms that exist")

        try:  # the PING barrier also covers "already in the room", which has no reply at all
            lines = await self.poster.barrier([Message("JOIN", (name,))])
        except UpstreamError as exc:
            raise self._unavailable(exc) from None
        for msg in lines:
            if msg.command in JOIN_REFUSALS:
                raise HTTPException(403, f"the API user cannot join {name}: {JOIN_REFUSALS[msg.command]}")
            if msg.command in (N.ERR_NOSUCHCHANNEL, "476"):
                raise HTTPException(400, f"the server refused the room name {name}")
        self._joined.add(folded)

    # ---- connections (operators) -------------------------------------------------------------
    async def connections(self) -> ConnectionList:
        lines = await self._ask(self.oper, [Message("STATS", ("l",))], _is(N.RPL_ENDOFSTATS, N.ERR_NOPRIVILEGES))
        if lines[-1].command == N.ERR_NOPRIVILEGES:
            raise HTTPException(503, NOT_OPER)
        return parse_connections(lines, self.oper.nick)

    async def kill(self, conn_id: int, reason: str) -> Killed:
        listing = await self.connections()
        target = next((c for c in listing.connections if c.id == conn_id), None)
        if target is None:
            raise HTTPException(404, f"no connection with id {conn_id} (it may have closed already)")
        if target.admin_link:
            raise HTTPException(409, "refusing to kill the gateway's own operator link")
        # A user on another cluster node is listed under a stand-in id (below zero) that only the
        # link's node knows: KILL it by nick, and the server closes it on its own node.
        victim = f"id={conn_id}" if conn_id >= 0 else target.nick
        try:
            lines = await self.oper.barrier(
                [Message("KILL", (victim, reason))], _is(N.ERR_NOSUCHNICK, N.ERR_NOPRIVILEGES)
            )
        except UpstreamError as exc:
            raise self._unavailable(exc) from None
        err = failure(lines)
        if err is not None and err.command == N.ERR_NOSUCHNICK:
            raise HTTPException(404, f"no connection with id {conn_id} (it closed before the kill)")
        if err is not None:
            raise HTTPException(503, NOT_OPER)
        metrics_of(self.app).admin_kills.inc()
        return Killed(id=conn_id, nick=target.nick, reason=reason)


def _history_error(err: Message, name: str) -> HTTPException:
    if err.command == N.ERR_UNKNOWNCOMMAND:
        return HTTPException(503, HISTORY_OFF)
    if err.command == "FAIL":
        code = err.param(1)
        text = err.params[-1] if err.params else code
        if code == "INVALID_TARGET":
            return HTTPException(404, f"no history for {name}: {text}")
        if code in ("INVALID_PARAMS", "INVALID_MSGREFTYPE", "NEED_MORE_PARAMS"):
            return HTTPException(400, f"the server refused the history query: {text}")
        return HTTPException(503, f"the server could not read the history: {text}")
    return HTTPException(400, f"the server refused the history query: {err.params[-1] if err.params else err.command}")


def service_of(app: Any) -> ChatService:
    """The app's ChatService, created on first use (closed by the API router's lifespan)."""
    service = getattr(app.state, "chat_service", None)
    if service is None:
        service = app.state.chat_service = ChatService(app.state.settings, app)
    return service  # type: ignore[no-any-return]
