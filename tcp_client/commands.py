"""Convenience verbs on top of ``send``: join, part, privmsg (split, never cut), nick, topic...

A mixin so the session module stays about the connection's lifecycle.
"""

from __future__ import annotations

from tcp_server.protocol import Message, casefold

from .lines import split_text, text_budget

ACTION_OVERHEAD = len("\x01ACTION \x01")


class CommandsMixin:
    """IRC verbs; the class using it provides ``send``, ``prefix`` and ``_keys``."""

    prefix: str | None
    _keys: dict[str, str]

    async def send(self, msg: Message | str) -> None:  # pragma: no cover - provided by the session
        raise NotImplementedError

    async def join(self, channel: str, key: str = "") -> None:
        """Join a channel (remembered with its key for rejoins)."""
        if key:
            self._keys[casefold(channel)] = key
        await self.send(Message("JOIN", (channel, key) if key else (channel,)))

    async def part(self, channel: str, reason: str = "") -> None:
        """Leave a channel."""
        await self.send(Message("PART", (channel, reason) if reason else (channel,)))

    async def privmsg(self, target: str, text: str) -> None:
        """Send text, split at safe boundaries into as many lines as it needs (never cut)."""
        for piece in split_text(text, text_budget("PRIVMSG", target, self.prefix)):
            await self.send(Message("PRIVMSG", (target, piece)))

    async def notice(self, target: str, text: str) -> None:
        """Send a NOTICE, split like ``privmsg``."""
        for piece in split_text(text, text_budget("NOTICE", target, self.prefix)):
            await self.send(Message("NOTICE", (target, piece)))

    async def action(self, target: str, text: str) -> None:
        """A CTCP ACTION (``/me``), split like ``privmsg``."""
        budget = text_budget("PRIVMSG", target, self.prefix) - ACTION_OVERHEAD
        for piece in split_text(text, budget):
            await self.send(Message("PRIVMSG", (target, f"\x01ACTION {piece}\x01")))

    async def set_nick(self, nick: str) -> None:
        """Ask for a new nick; ``nick`` changes when the server confirms."""
        await self.send(Message("NICK", (nick,)))

    async def topic(self, channel: str, text: str) -> None:
        """Set a channel's topic."""
        await self.send(Message("TOPIC", (channel, text)))

    async def away(self, text: str = "") -> None:
        """Mark yourself away with ``text``, or back when ``text`` is empty."""
        await self.send(Message("AWAY", (text,) if text else ()))
