"""The registration handshake: WEBIRC, PASS, CAP LS 302 / REQ / END, SASL PLAIN, NICK, USER,
optional OPER.

Kept apart from the session so the session module stays about what happens *after* a link is up.
Every message read here is handed to ``on_message`` too, so the consumer still sees the welcome
burst (001, 005, MOTD) as ordinary events.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tcp_server.protocol import Message
from tcp_server.protocol import numerics as N

from .link import Link

MAX_NICK_ATTEMPTS = 5
"""How many ``nick_``, ``nick__``... fallbacks to try when the nick is taken."""
FATAL_NUMERICS = frozenset({N.ERR_ERRONEUSNICKNAME, N.ERR_PASSWDMISMATCH, "465", N.ERR_SASLFAIL})
"""Refusals that retrying cannot fix (bad nick syntax, bad password, banned, SASL login failed)."""
SASL_ENDS = frozenset({N.ERR_SASLFAIL, N.ERR_SASLTOOLONG, N.ERR_SASLABORTED, N.ERR_SASLALREADY})
SASL_CHUNK = 400


class RegistrationError(Exception):
    """The server refused registration; ``numeric`` says why (``433`` nick in use, ``464`` bad
    password, ``432`` bad nick, ``904`` account login failed, ``ERROR`` when the server closed
    the link with a message)."""

    def __init__(self, numeric: str, message: str) -> None:
        super().__init__(f"{numeric}: {message}" if numeric != "ERROR" else message)
        self.numeric = numeric
        self.message = message

    @property
    def fatal(self) -> bool:
        """True when reconnecting with the same settings cannot succeed."""
        return self.numeric in FATAL_NUMERICS


@dataclass(frozen=True)
class WebIrc:
    """What a trusted gateway tells the server about the real user (``WEBIRC`` command)."""

    password: str
    gateway: str
    hostname: str
    ip: str


@dataclass
class Registered:
    """What the handshake learned: the nick we got, acknowledged caps, 005 tokens, our prefix."""

    nick: str
    caps: set[str]
    isupport: dict[str, str]
    prefix: str | None = None
    account: str | None = None
    """The account we logged in to (SASL), if any."""


def update_isupport(isupport: dict[str, str], msg: Message) -> None:
    """Apply one RPL_ISUPPORT line (``KEY=VALUE``, ``KEY``, ``-KEY``) to ``isupport``."""
    for token in msg.params[1:-1]:
        if token.startswith("-"):
            isupport.pop(token[1:], None)
        else:
            key, _, value = token.partition("=")
            isupport[key] = value


def sasl_plain_lines(account: str, password: str) -> list[Message]:
    """``AUTHENTICATE`` lines carrying PLAIN credentials (400-byte chunks, ``+`` after a full one)."""
    text = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
    chunks = [text[i : i + SASL_CHUNK] for i in range(0, len(text), SASL_CHUNK)]
    if len(text) % SASL_CHUNK == 0:
        chunks.append("+")
    return [Message("AUTHENTICATE", (c,)) for c in chunks]


def _fallback(nick: str, attempt: int) -> str:
    return nick + "_" * attempt


async def register(
    link: Link,
    nick: str,
    *,
    username: str,
    realname: str,
    password: str | None,
    webirc: WebIrc | None,
    want_caps: Iterable[str],
    nick_fallback: bool,
    oper: tuple[str, str] | None,
    on_message: Callable[[Message], None],
    sasl: tuple[str, str] | None = None,
) -> Registered:
    """Run the handshake on a fresh link; return once the MOTD (and OPER, if asked) is done.

    With ``sasl`` (account, password) the ``sasl`` capability is requested and PLAIN runs before
    ``CAP END``; a server without SASL, or a refused login, raises ``RegistrationError`` (904).

    Raises:
        RegistrationError: the server refused (see ``numeric``).
        ConnectionError: the server closed the link without saying why.
    """
    if webirc is not None:
        link.write(Message("WEBIRC", (webirc.password, webirc.gateway, webirc.hostname, webirc.ip)))
    if password:
        link.write(Message("PASS", (password,)))
    link.write(Message("CAP", ("LS", "302")))
    link.write(Message("NICK", (nick,)))
    link.write(Message("USER", (username, "0", "*", realname)))
    await link.drain()
    wanted = tuple(want_caps) + (("sasl",) if sasl is not None else ())
    offered: set[str] = set()
    result = Registered(nick, set(), {})
    attempts = 0
    welcomed = oper_sent = False
    error = ""
    while True:
        msg = await link.next_message()
        if msg is None:
            if error:
                raise RegistrationError("ERROR", error)
            raise ConnectionError("the server closed the connection during registration")
        on_message(msg)
        cmd = msg.command
        if cmd == "PING":
            link.write(Message("PONG", msg.params))
        elif cmd == "ERROR":
            error = msg.param(0, "closed by server")
        elif cmd == "CAP":
            sub = msg.param(1).upper()
            if sub == "LS":
                offered.update(item.partition("=")[0] for item in msg.params[-1].split())
                if msg.param(2) != "*":  # the last (or only) line of a multi-line LS
                    if sasl is not None and "sasl" not in offered:
                        raise RegistrationError(N.ERR_SASLFAIL, "the server does not offer SASL (accounts)")
                    request = [cap for cap in wanted if cap in offered]
                    link.write(Message("CAP", ("REQ", " ".join(request))) if request else Message("CAP", ("END",)))
            elif sub == "ACK":
                result.caps.update(c for c in msg.params[-1].split() if not c.startswith("-"))
                if sasl is not None and "sasl" in result.caps and result.account is None:
                    link.write(Message("AUTHENTICATE", ("PLAIN",)))
                else:
                    link.write(Message("CAP", ("END",)))
            elif sub == "NAK":
                link.write(Message("CAP", ("END",)))
        elif cmd == "AUTHENTICATE" and sasl is not None and msg.params == ("+",):
            for line in sasl_plain_lines(*sasl):
                link.write(line)
        elif cmd == N.RPL_LOGGEDIN and len(msg.params) > 2:
            result.account = msg.params[2]
        elif cmd == N.RPL_SASLSUCCESS and not welcomed:
            link.write(Message("CAP", ("END",)))
        elif cmd in SASL_ENDS and sasl is not None and not welcomed:
            raise RegistrationError(N.ERR_SASLFAIL, f"account login failed: {msg.params[-1] if msg.params else cmd}")
        elif cmd == N.RPL_WELCOME:
            welcomed = True
            result.nick = msg.param(0, result.nick)
            last_word = msg.params[-1].rsplit(" ", 1)[-1] if msg.params else ""
            if "!" in last_word and "@" in last_word:
                result.prefix = last_word
        elif cmd == N.RPL_ISUPPORT:
            update_isupport(result.isupport, msg)
        elif cmd in (N.RPL_ENDOFMOTD, N.ERR_NOMOTD) and welcomed:
            if oper is None:
                return result
            if not oper_sent:
                link.write(Message("OPER", oper))
                oper_sent = True
        elif cmd == N.RPL_YOUREOPER and oper_sent:
            return result
        elif cmd in (N.ERR_PASSWDMISMATCH, N.ERR_NOOPERHOST, N.ERR_NOPRIVILEGES) and oper_sent:
            raise RegistrationError(cmd, f"OPER refused: {msg.params[-1] if msg.params else ''}")
        elif cmd == N.ERR_NICKNAMEINUSE and not welcomed:
            if not nick_fallback or attempts >= MAX_NICK_ATTEMPTS:
                raise RegistrationError(cmd, f"nick {msg.param(1, nick)} is already in use")
            attempts += 1
            link.write(Message("NICK", (_fallback(nick, attempts),)))
        elif cmd in FATAL_NUMERICS and not welcomed:
            raise RegistrationError(cmd, " ".join(msg.params[1:]) or cmd)
        await link.drain()
