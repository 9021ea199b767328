"""Accounts on ``/ws``: signing in, creating an account, and what a signed-in page asks for.

Browser -> gateway (validated here, carried out by :func:`carry_out` on the user's own session):

- ``hello {nick?, account, password}``: sign in. The upstream session logs in with SASL PLAIN on
  every connect and reconnect (``SessionConfig.account``); ``nick`` defaults to the account. A
  refusal is ``error {code: "auth_failed"}`` and no session (the page keeps its form).
- ``hello {nick, password, register: true}``: create the account ``nick`` with ``REGISTER * * :pw``
  on the user's connection right after it registered, then it is signed in (and reconnects log in).
  A refusal is ``error {code: "register_failed", reason}`` (``reason``: the server's FAIL code,
  e.g. ``ACCOUNT_EXISTS``, ``WEAK_PASSWORD``) and no session. An account that an operator must
  approve first gives ``account {account: null, pending: name}`` and no session.
- ``conversations {}``: the private conversations of the account (``CHATHISTORY TARGETS``, at
  most ``account_conversations``), answered by ``conversations {targets: [{nick, time}]}``, newest
  first; the page then asks ``history`` of each.
- ``markread {room|nick, time?}``: with ``time`` (ISO 8601, as in messages) move the read marker
  forward (``MARKREAD``), without it ask for it. Answered by ``markread {room|nick, time|null}``;
  the gateway also passes on the markers the server sends after each join (``draft/read-marker``).
- ``register_room {room}``: keep the room across server restarts (``CS REGISTER``; signed in and a
  channel operator). Answered by ``room_registered {room, ok, message}``.

Gateway -> browser: ``account {account: name|null, pending?}`` once, before the first ``connected``
status of a session: who the session is signed in as (null: a guest). The password is never
logged, echoed or kept beyond the session's configuration (needed to log in again on reconnects).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tcp_client.events import ServerLine
from tcp_client.registration import RegistrationError
from tcp_server.protocol import Message, casefold, is_channel_name
from tcp_server.protocol.numerics import ERR_SASLFAIL

if TYPE_CHECKING:
    from tcp_client.session import ClientSession

    from .bridge import Bridge
    from .commands import CommandError, Hello

Event = dict[str, Any]
log = logging.getLogger("tcpchat.gateway")
NameCheck = Callable[..., Any]

MAX_PASSWORD = 300
"""Longest password accepted from the browser (characters); fits one AUTHENTICATE exchange."""
ACCOUNT_REPLY_TIMEOUT = 10.0
"""Seconds REGISTER, CHATHISTORY TARGETS and CS REGISTER get to be answered."""
EPOCH = "timestamp=1970-01-01T00:00:00.000Z"
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass(frozen=True)
class Conversations:
    """``conversations {}``: list the account's private conversations."""


@dataclass(frozen=True)
class MarkRead:
    """``markread {room|nick, time?}``: ask for (no ``time``) or move a read marker."""

    target: str
    time: str | None = None


@dataclass(frozen=True)
class RegisterRoom:
    """``register_room {room}``: ``CS REGISTER #room``."""

    room: str


AccountCommand = Conversations | MarkRead | RegisterRoom


# ---- parsing ----------------------------------------------------------------------------------
def parse_hello(data: dict[str, Any], name: NameCheck) -> Hello | CommandError:
    """``hello`` with its optional account fields; ``name`` validates nicks (commands._name)."""
    from .commands import CommandError, Hello

    account = data.get("account")
    register = data.get("register", False)
    if not isinstance(register, bool):
        return CommandError("bad_field", "'register' must be true or false")
    if account is not None:
        account = name(data, "account")
        if isinstance(account, CommandError):
            return account
    nick = name(data, "nick") if data.get("nick") is not None or account is None else account
    if isinstance(nick, CommandError):
        return nick
    password = data.get("password")
    if account is None and not register:
        if password is not None:
            return CommandError("bad_field", "'password' needs 'account' (sign in) or 'register': true")
        return Hello(nick)
    if account is not None and register:
        return CommandError("bad_field", "use 'account' to sign in or 'register' to create one, not both")
    if not isinstance(password, str) or not password:
        return CommandError("bad_field", "'password' must be a non-empty string")
    if len(password) > MAX_PASSWORD or any(ch in password for ch in "\r\n\x00"):
        return CommandError("bad_field", f"'password' must be one line of at most {MAX_PASSWORD} characters")
    return Hello(nick, account, password, register)


def account_builders(name: NameCheck) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """The ``/ws`` command types of this module, for ``commands.parse_command``."""
    from .commands import CommandError

    def conversations(data: dict[str, Any]) -> Any:
        return Conversations()

    def markread(data: dict[str, Any]) -> Any:
        target = name(data, "room" if "room" in data else "nick", room="room" in data)
        if isinstance(target, CommandError):
            return target
        stamp = data.get("time")
        if stamp is not None and (not isinstance(stamp, str) or not _STAMP.match(stamp)):
            return CommandError("bad_field", "'time' must be a time like 2026-01-31T12:00:00.000Z")
        return MarkRead(target, stamp)

    def register_room(data: dict[str, Any]) -> Any:
        room = name(data, "room", room=True)
        return room if isinstance(room, CommandError) else RegisterRoom(room)

    return {"conversations": conversations, "markread": markread, "register_room": register_room}


# ---- upstream -> browser --------------------------------------------------------------------------
def account_event(account: str | None, pending: str | None = None) -> Event:
    """``account {account, pending?}``: who this session is signed in as (null: a guest)."""
    event: Event = {"type": "account", "account": account}
    if pending is not None:
        event["pending"] = pending
    return event


def markread_event(line: ServerLine) -> list[Event]:
    """``MARKREAD target timestamp=...|*`` -> ``markread {room|nick, time|null}``."""
    if line.command != "MARKREAD" or len(line.params) < 2:
        return []
    target, value = line.params[0], line.params[1]
    stamp = value.partition("=")[2] if value.startswith("timestamp=") else None
    return [{"type": "markread", "room" if is_channel_name(target) else "nick": target, "time": stamp}]


def login_of(cmd: Hello) -> tuple[str, str] | None:
    """The (account, password) a hello signs in with, if it signs in."""
    return (cmd.account, cmd.password) if cmd.account and cmd.password else None


def refusal_event(exc: RegistrationError, cmd: Hello) -> Event:
    """The ``error`` event for a refused hello: ``auth_failed`` (SASL 904) in words, else the numeric."""
    from .events import error_event

    if exc.numeric != ERR_SASLFAIL:
        return error_event(exc.numeric, exc.message, target=cmd.nick)
    detail = exc.message.partition("account login failed: ")[2] or exc.message
    if "does not offer SASL" in detail:
        text = "This chat server has no accounts; continue as a guest."
    elif "approval" in detail:
        text = "That account waits for an operator's approval."
    elif "disabled" in detail:
        text = "That account is disabled."
    elif "attempts" in detail.lower():
        text = "Too many sign-in attempts; wait a minute and try again."
    else:
        text = "Wrong account name or password."
    return error_event("auth_failed", text, target=cmd.account)


# ---- carrying out --------------------------------------------------------------------------------
async def signed_in(session: ClientSession, cmd: Hello) -> Event:
    """After the session registered: ``account`` (signed in, pending, or a guest), or the
    ``error`` event of a failed REGISTER."""
    from .events import error_event

    if not (cmd.register and cmd.password):
        return account_event(session.account)
    try:
        return await sign_up(session, cmd.nick, cmd.password)
    except (ConnectionError, TimeoutError) as exc:  # REGISTER unanswered, or the link dropped
        return error_event("register_failed", f"the account was not created: {exc or 'no answer'}")


async def sign_up(session: ClientSession, name: str, password: str) -> Event:
    """REGISTER the session's nick as an account. Returns the ``account`` event when it worked
    (the server logged us in; reconnects will log in too), else the ``error`` event to send."""
    from .events import error_event

    def answer(m: Message) -> bool:
        return m.command == "REGISTER" or (m.command == "FAIL" and m.param(0) == "REGISTER")

    lines = await session.request(Message("REGISTER", ("*", "*", password)), answer, ACCOUNT_REPLY_TIMEOUT)
    reply = lines[-1]
    if reply.command == "FAIL":
        code = reply.param(1)
        return error_event("register_failed", reply.params[-1] or code, reason=code, target=name)
    if reply.param(0) == "SUCCESS":
        session.remember_login(reply.param(1, name), password)
        return account_event(reply.param(1, name))
    return account_event(None, pending=reply.param(1, name))


async def carry_out(bridge: Bridge, session: ClientSession, cmd: AccountCommand) -> None:
    """One account command on the user's session; answers go to the browser."""
    from .events import error_event

    if isinstance(cmd, MarkRead):
        value = (f"timestamp={cmd.time}",) if cmd.time else ()
        await session.send(Message("MARKREAD", (cmd.target, *value)))  # the answer is a ServerLine
        return
    try:
        if isinstance(cmd, Conversations):
            targets = await _targets(session, bridge.settings.account_conversations)
            if isinstance(targets, str):  # the server's FAIL: say so (the page may ask again)
                bridge.emit(error_event("conversations_failed", targets))
            else:
                bridge.emit({"type": "conversations", "targets": targets})
        else:
            bridge.emit(await _register_room(session, cmd.room))
    except TimeoutError:
        bridge.emit(error_event("upstream", "the chat server did not answer in time"))


async def _targets(session: ClientSession, limit: int) -> list[Event] | str:
    """The private conversations, newest first, or the text of the server's refusal."""
    if not session.has_history():
        return []
    until = datetime.now(UTC) + timedelta(days=1)
    stamp = until.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    ref: list[str] = []  # our batch's reference, once it started

    def end(m: Message) -> bool:
        """The end of *this* reply: other batches (a join's history) may be in flight meanwhile."""
        if m.command == "BATCH" and m.param(1) == "draft/chathistory-targets" and m.param(0).startswith("+"):
            ref.append(m.param(0)[1:])
        return (bool(ref) and m.command == "BATCH" and m.param(0) == f"-{ref[0]}") or (
            m.command == "FAIL" and m.param(0) == "CHATHISTORY")

    lines = await session.request(
        Message("CHATHISTORY", ("TARGETS", EPOCH, f"timestamp={stamp}", str(limit))), end, ACCOUNT_REPLY_TIMEOUT,
        match=lambda m: (m.command == "CHATHISTORY" and bool(ref) and m.tags.get("batch") == ref[0])
        or m.command == "FAIL",
    )
    if lines and lines[-1].command == "FAIL":
        log.info("CHATHISTORY TARGETS refused: %s", " ".join(lines[-1].params))
        return lines[-1].params[-1] or "the chat server could not list the conversations"
    found = [
        {"nick": m.param(1), "time": m.param(2).partition("=")[2] or m.param(2)}
        for m in lines if m.command == "CHATHISTORY" and m.param(0) == "TARGETS" and not is_channel_name(m.param(1))
    ]
    found.sort(key=lambda t: t["time"], reverse=True)
    return found


async def _register_room(session: ClientSession, room: str) -> Event:
    folded = casefold(room)

    def answer(m: Message) -> bool:  # chanserv answers with one NOTICE naming the room (or why not)
        return m.command == "NOTICE" and "!" not in (m.source or "!") and (
            folded in casefold(m.params[-1]) or m.params[-1].startswith(("Log in", "Usage"))
        )

    reply = (await session.request(Message("CS", ("REGISTER", room)), answer, ACCOUNT_REPLY_TIMEOUT))[-1]
    text = reply.params[-1]
    return {"type": "room_registered", "room": room, "ok": "is registered to your account" in text, "message": text}
