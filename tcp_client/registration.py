"""The registration handshake as a sans-I/O state machine: WEBIRC, PASS, CAP LS 302 / REQ / END,
SASL PLAIN, NICK, USER, optional OPER.

``Registration.start()`` returns the opening lines; ``Registration.feed(msg)`` returns the lines to
answer with and raises ``RegistrationError`` on a refusal; ``done`` turns true once the MOTD (and
OPER, if asked) is over. The session's protocol core runs it on every new connection.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from tcp_server.protocol import Message
from tcp_server.protocol import numerics as N

MAX_NICK_ATTEMPTS = 5
"""How many ``nick_``, ``nick__``... fallbacks to try when the nick is taken."""
FATAL_NUMERICS = frozenset({N.ERR_ERRONEUSNICKNAME, N.ERR_PASSWDMISMATCH, "465", N.ERR_SASLFAIL})
"""Refusals that retrying cannot fix (bad nick syntax, bad password, banned, SASL login failed)."""
SASL_ENDS = frozenset({N.ERR_SASLFAIL, N.ERR_SASLTOOLONG, N.ERR_SASLABORTED, N.ERR_SASLALREADY})
SASL_CHUNK = 400
"""Bytes of base64 per ``AUTHENTICATE`` line (IRCv3 SASL)."""
SHARED_TOKENS = 4096
"""Distinct ISUPPORT/CAP tokens kept to be shared by all connections (emptied when full)."""
OPER_REFUSALS = frozenset({N.ERR_PASSWDMISMATCH, N.ERR_NOOPERHOST, N.ERR_NOPRIVILEGES})


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

    @property
    def oper_refused(self) -> bool:
        """True when registration worked but the OPER that followed it was refused."""
        return self.message.startswith("OPER refused")


class RegistrationClosed(ConnectionError):
    """The server closed the connection during registration without saying why."""


@dataclass(frozen=True)
class WebIrc:
    """What a trusted gateway tells the server about the real user (``WEBIRC`` command)."""

    password: str
    gateway: str
    hostname: str
    ip: str


_tokens: dict[str, str] = {}


def shared(token: str) -> str:
    """One string object per distinct ISUPPORT/CAP token in the process.

    Every connection to the server receives the same 005 and CAP tokens, each line parsed apart
    (it carries the nick); a gateway holds one connection per browser, and its own copies of
    those tokens were ~6 KiB per web user.
    """
    got = _tokens.get(token)
    if got is None:
        if len(_tokens) >= SHARED_TOKENS:
            _tokens.clear()
        got = _tokens[token] = token
    return got


def update_isupport(isupport: dict[str, str], msg: Message) -> None:
    """Apply one RPL_ISUPPORT line (``KEY=VALUE``, ``KEY``, ``-KEY``) to ``isupport``."""
    for token in msg.params[1:-1]:
        if token.startswith("-"):
            isupport.pop(token[1:], None)
        else:
            key, _, value = token.partition("=")
            isupport[shared(key)] = shared(value)


def sasl_plain_lines(account: str, password: str) -> list[Message]:
    """``AUTHENTICATE`` lines carrying PLAIN credentials (400-byte chunks, ``+`` after a full one)."""
    text = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
    chunks = [text[i : i + SASL_CHUNK] for i in range(0, len(text), SASL_CHUNK)]
    if len(text) % SASL_CHUNK == 0:
        chunks.append("+")
    return [Message("AUTHENTICATE", (c,)) for c in chunks]


def _fallback(nick: str, attempt: int) -> str:
    return nick + "_" * attempt


@dataclass
class Registration:
    """One handshake: what it sends, what it learned (nick, caps, 005 tokens, our prefix, account).

    With ``sasl`` (account, password) the ``sasl`` capability is requested and PLAIN runs before
    ``CAP END``; a server without SASL, or a refused login, raises ``RegistrationError`` (904).
    """

    nick: str
    username: str
    realname: str
    password: str | None = None
    webirc: WebIrc | None = None
    want_caps: tuple[str, ...] = ()
    nick_fallback: bool = True
    oper: tuple[str, str] | None = None
    sasl: tuple[str, str] | None = None
    caps: set[str] = field(default_factory=set)
    isupport: dict[str, str] = field(default_factory=dict)
    prefix: str | None = None
    account: str | None = None  # the account the server says we are logged in to
    done: bool = False
    error: str = ""  # the text of an ERROR the server sent before closing
    _offered: set[str] = field(default_factory=set)
    _attempts: int = 0
    _welcomed: bool = False
    _oper_sent: bool = False

    def start(self) -> list[Message]:
        """The opening lines."""
        out = []
        if self.webirc is not None:
            w = self.webirc
            out.append(Message("WEBIRC", (w.password, w.gateway, w.hostname, w.ip)))
        if self.password:
            out.append(Message("PASS", (self.password,)))
        out += [Message("CAP", ("LS", "302")), Message("NICK", (self.nick,)),
                Message("USER", (self.username, "0", "*", self.realname))]
        return out

    def closed(self) -> Exception:
        """The error to report when the server closes the connection before we are done."""
        if self.error:
            return RegistrationError("ERROR", self.error)
        return RegistrationClosed("the server closed the connection during registration")

    def feed(self, msg: Message) -> list[Message]:
        """Advance on one server line; the lines to send back. Raises ``RegistrationError``."""
        cmd = msg.command
        if cmd == "ERROR":
            self.error = msg.param(0, "closed by server")
        elif cmd == "CAP":
            return self._cap(msg)
        elif cmd == "AUTHENTICATE" and self.sasl is not None and msg.params == ("+",):
            return sasl_plain_lines(*self.sasl)
        elif cmd == N.RPL_LOGGEDIN and len(msg.params) > 2:
            self.account = msg.params[2]
        elif cmd == N.RPL_SASLSUCCESS and not self._welcomed:
            return [Message("CAP", ("END",))]
        elif cmd in SASL_ENDS and self.sasl is not None and not self._welcomed:
            raise RegistrationError(N.ERR_SASLFAIL, f"account login failed: {msg.params[-1] if msg.params else cmd}")
        elif cmd == N.RPL_WELCOME:
            self._welcomed = True
            self.nick = msg.param(0, self.nick)
            last_word = msg.params[-1].rsplit(" ", 1)[-1] if msg.params else ""
            if "!" in last_word and "@" in last_word:
                self.prefix = last_word
        elif cmd == N.RPL_ISUPPORT:
            update_isupport(self.isupport, msg)
        elif cmd in (N.RPL_ENDOFMOTD, N.ERR_NOMOTD) and self._welcomed:
            if self.oper is None:
                self.done = True
            elif not self._oper_sent:
                self._oper_sent = True
                return [Message("OPER", self.oper)]
        elif cmd == N.RPL_YOUREOPER and self._oper_sent:
            self.done = True
        elif cmd in OPER_REFUSALS and self._oper_sent:
            raise RegistrationError(cmd, f"OPER refused: {msg.params[-1] if msg.params else ''}")
        elif cmd == N.ERR_NICKNAMEINUSE and not self._welcomed:
            if not self.nick_fallback or self._attempts >= MAX_NICK_ATTEMPTS:
                raise RegistrationError(cmd, f"nick {msg.param(1, self.nick)} is already in use")
            self._attempts += 1
            return [Message("NICK", (_fallback(self.nick, self._attempts),))]
        elif cmd in FATAL_NUMERICS and not self._welcomed:
            raise RegistrationError(cmd, " ".join(msg.params[1:]) or cmd)
        return []

    def _cap(self, msg: Message) -> list[Message]:
        sub = msg.param(1).upper()
        if sub == "LS":
            self._offered.update(shared(item.partition("=")[0]) for item in msg.params[-1].split())
            if msg.param(2) != "*":  # the last (or only) line of a multi-line LS
                if self.sasl is not None and "sasl" not in self._offered:
                    raise RegistrationError(N.ERR_SASLFAIL, "the server does not offer SASL (accounts)")
                wanted = self.want_caps + (("sasl",) if self.sasl is not None else ())
                request = [cap for cap in wanted if cap in self._offered]
                return [Message("CAP", ("REQ", " ".join(request))) if request else Message("CAP", ("END",))]
        elif sub == "ACK":
            self.caps.update(shared(c) for c in msg.params[-1].split() if not c.startswith("-"))
            self._offered = set()  # negotiated: only needed while asking
            if self.sasl is not None and "sasl" in self.caps and self.account is None:
                return [Message("AUTHENTICATE", ("PLAIN",))]
            return [Message("CAP", ("END",))]
        elif sub == "NAK":
            return [Message("CAP", ("END",))]
        return []
