"""What users see of a Redis outage: no private message lost silently, no nick held twice.

- A private message to a user on another node that cannot go out (Redis is unreachable, or the
  batch carrying it failed) is answered to its sender with the IRCv3 standard reply
  ``FAIL PRIVMSG TEMPORARILY_UNAVAILABLE <nick> :<text>`` (the registry's code for a service
  that is down for now; the message is not queued: the sender decides whether to retry). NOTICE
  gets no reply, as the protocol asks of automatic replies.
- While Redis is away each node hands out nicks alone, so two nodes may give one nick to two
  users. When a node re-registers its nicks (``reaper.register_node``) a claim that finds the
  nick held by another node is settled by one atomic script: the claim made first (claim times
  in milliseconds travel in the nick key; ties go to the smaller node id) keeps the nick, the
  other user is renamed to ``Guest<n>`` with a NICK line and a NOTICE saying why. The settling
  node tells the other node through its node channel (``r``: rename yours, ``a``: announce
  yours again, so every node maps the nick to the user who kept it).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from ..state import Client
from ..state.responses import ResponseBuffer
from . import wire
from .mirror import is_ghost

if TYPE_CHECKING:
    from .bus import RedisBus
    from .link import Link

log = logging.getLogger("tcpchat.cluster")

FAILURES = (RedisError, OSError)
UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
GUEST_TRIES = 10
"""Guest nicks tried before giving up on renaming (each taken one is skipped)."""
RENAME = "r"
"""Node event: your user holding ``f`` lost it to an earlier claim; rename it."""
ANNOUNCE = "a"
"""Node event: your user holding ``f`` kept it; announce it again (the loser overwrote it)."""

SETTLE_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1]) return '' end
local cn, ct = string.match(cur, '^(%S+) %S+ ?(%d*)')
local mn, mt = string.match(ARGV[1], '^(%S+) %S+ (%d+)')
if cn == mn then redis.call('SET', KEYS[1], ARGV[1]) return '' end
ct = tonumber(ct) or 0
mt = tonumber(mt)
if mt < ct or (mt == ct and mn < cn) then redis.call('SET', KEYS[1], ARGV[1]) return 'won ' .. cur end
return 'lost ' .. cur
"""
"""Settle a nick key two nodes claim: '' (it is ours), 'won <holder>' (we displaced it), or
'lost <holder>'. A holder value without a claim time (an older node) counts as the earlier one."""

_guests = itertools.count(int(time.time()) % 100000)


def now_ms() -> int:
    """Wall-clock milliseconds: claim times of different nodes are compared."""
    return int(time.time() * 1000)


def undelivered(bus: RedisBus, sender: Client | None, target: Client) -> None:
    """A private message to ``target`` (on another node) could not go out: tell ``sender``."""
    bus.outage.undelivered += 1
    if sender is None or sender.gone or is_ghost(sender):
        return
    bus.state.send_from_server(
        sender, "FAIL", "PRIVMSG", UNAVAILABLE, target.nick,
        f"Your message to {target.nick} was not delivered: the link to their server is down, try again later",
    )


class Outage:
    """When each local user took its nick (what settles a nick two nodes gave out), and how
    many private messages could not go out."""

    def __init__(self, bus: RedisBus) -> None:
        self.bus = bus
        self.at: dict[int, int] = {}
        self.undelivered = 0
        bus.state.on_nick.append(self._taken)
        bus.state.on_disconnect.append(lambda client, _reason: self.at.pop(client.id, None))

    def _taken(self, client: Client) -> None:
        if not is_ghost(client):
            self.at[client.id] = now_ms()

    def value(self, client: Client) -> str:
        """The nick key's value for ``client``: ``node epoch claimed_ms``."""
        return f"{self.bus.node} {self.bus.epoch} {self.at.get(client.id) or now_ms()}"


async def settle(link: Link, client: Client) -> None:
    """``client``'s nick is held by another node too: the earlier claim keeps it."""
    bus = link.bus
    folded = client.folded
    outcome = await link.redis.eval(SETTLE_SCRIPT, 1, wire.nick_key(folded), bus.outage.value(client))
    verdict, _, holder = str(outcome).partition(" ")
    other = holder.split(" ")[0]
    if not verdict:
        return
    log.warning("cluster: nick %s was given out by nodes %s and %s while Redis was away; %s keeps it",
                client.nick, bus.node, other, bus.node if verdict == "won" else other)
    if verdict == "won":
        tell(link, other, RENAME, folded)
        bus._announce(client)
    else:
        tell(link, other, ANNOUNCE, folded)
        rename(bus, client)


def tell(link: Link, node: str, kind: str, folded: str) -> None:
    """Send node ``node`` a settling event about nick ``folded``."""
    payload = wire.encode({"k": kind, "f": folded})
    link.queue(lambda pipe: pipe.publish(wire.node_channel(node), payload))


def on_settle_event(bus: RedisBus, client: Client, event: dict[str, Any]) -> None:
    """Another node settled the nick of local user ``client``."""
    if event["k"] == RENAME:
        rename(bus, client)
    else:
        bus._announce(client)  # the loser's announcement overwrote ours


def rename(bus: RedisBus, client: Client, tries: int = GUEST_TRIES) -> None:
    """``client`` lost its nick to an earlier claim: ``Guest<n>``, told with NICK and a NOTICE."""
    from ..commands.registration import _nick_claimed

    if client.gone or tries <= 0:
        return
    old_nick, old_prefix = client.nick, client.prefix
    bus.claimed.pop(client.id, None)  # the nick key and the users entry are the other user's now
    bus._user_names.pop(client.id, None)
    guest = f"Guest{next(_guests)}"

    def claimed(ok: bool) -> None:
        if not ok:
            rename(bus, client, tries - 1)
            return
        _nick_claimed(bus.state, client, ResponseBuffer(bus.state.name, client), guest, old_prefix, old_nick, True)
        bus.state.send_from_server(
            client, "NOTICE", client.nick,
            f"The nick {old_nick} was also given to a user on another server while the servers could "
            f"not reach each other; they took it first, so you are now {client.nick}.",
        )
        if bus.link is not None:  # other nodes show the renamed user in its channels again
            task = asyncio.create_task(announce_all(bus.link))
            bus.link.tasks.append(task)

    bus.claim_nick(client, guest, claimed)


async def announce_all(link: Link) -> None:
    """Write this node's users and memberships to Redis again (after a rename settled a nick)."""
    from .reaper import register_node

    try:
        await register_node(link, announce=True)
    except FAILURES as exc:
        link.down(exc)
