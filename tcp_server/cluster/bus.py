"""RedisBus: the bus of a clustered node. Handlers call it like LocalBus; it publishes instead.

A channel event (message, join, part, kick, topic) is numbered and published in one Lua call
on the channel's own pub/sub channel; every node subscribed to it, the origin too, delivers it
to its local members when Redis hands it out, so all members everywhere see one order. Private
messages go to the target node's channel. While Redis is unreachable the node falls back to
LocalBus behaviour for its own users (``up`` is False) until ``link.Link`` reconnects.

The methods handlers call are synchronous: they queue work for ``link.Link``'s publisher task.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ..protocol import casefold
from ..state import Bus, Channel, Client, ServerState
from ..state.bus import Refusal, Variants, select
from . import wire
from .meta import apply_meta, pack_lists
from .mirror import Mirror, is_ghost, user_info
from .outage import Outage, on_settle_event, undelivered
from .pending import PendingJoin
from .shared import AwaitedEcho, SharedState, deliver, deliver_batch

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

    from ..settings import ServerSettings
    from .link import Link

log = logging.getLogger("tcpchat.cluster")

Op = Callable[["Pipeline"], None]


class RedisBus(SharedState, Bus):
    """Cluster delivery through Redis; local state changes happen as events come back."""

    clustered = True

    def __init__(self, state: ServerState, settings: ServerSettings) -> None:
        super().__init__(state)
        self.node = settings.node_id or secrets.token_hex(4)
        self.epoch = str(int(time.time() * 1000))
        self.mirror = Mirror(state, self.node)
        self.up = False
        """True while Redis answers; False: local users only, until the link reconnects."""
        self.link: Link | None = None
        self.pending_joins: dict[tuple[int, str], PendingJoin] = {}
        """JOINs published and not yet back: (client id, channel) -> the local completion."""
        self.claimed: dict[int, str] = {}
        """Local client id -> the casefolded nick it holds in Redis."""
        self.memberships: dict[int, set[str]] = {}
        """Local client id -> channels it is in (still known when its disconnect hook runs)."""
        self.echoes: dict[str, AwaitedEcho] = {}
        """Msgid of each published channel message whose sender's echo waits for it, in order."""
        self.network = (1, 0)
        self.gaps = 0
        """Channel events whose sequence number skipped (missed while resubscribing)."""
        self.filled = 0
        """Missed channel messages delivered from history (gapfill.py)."""
        self._user_names: dict[int, str] = {}
        """Local client id -> the casefolded nick other nodes know it by (in the users hash)."""
        self.outage = Outage(self)
        state.on_nick.append(self._announce)
        state.on_disconnect.append(self._gone)
        self.share_whowas()

    # ---- what handlers call --------------------------------------------------------------
    def to_channel(
        self, channel: Channel, variants: Variants, skip: Client | None = None, only: str = ""
    ) -> None:
        """Publish a channel message; every node delivers it when Redis hands it out."""
        if not self.up:
            super().to_channel(channel, variants, skip, only)
            return
        msgid = wire.msgid_of(variants[2])
        event = {"k": "m", "n": self.node, "s": skip.id if skip else 0, "v": wire.pack_variants(variants),
                 "id": msgid}
        if only:
            event["o"] = only
        if skip is not None and msgid and "echo-message" in skip.caps:
            self.await_echo(channel.folded, msgid)  # the echo goes out at the message's turn

        def alone() -> None:
            Bus.to_channel(self, channel, variants, skip, only)
            if msgid and self.link is not None:
                self.link.seen.add(channel.folded, msgid)  # a later gap fill skips it
            self.turn(msgid)

        self._publish(channel.folded, event, alone)

    def to_nick(self, target: Client, variants: Variants, only: str = "", sender: Client | None = None) -> None:
        """A remote user's message goes to its node's channel (``sender`` hears if it cannot)."""
        if not is_ghost(target):
            super().to_nick(target, variants, only)
            return
        node = self.mirror.node_of.get(target.folded)
        lost = partial(undelivered, self, sender, target)
        if self.up and node is not None:
            payload = wire.encode({"k": "p", "f": target.folded, "v": wire.pack_variants(variants), "o": only})
            self._queue(lambda pipe: pipe.publish(wire.node_channel(node), payload), lost)
        else:
            lost()

    def invited(self, channel: Channel, target: Client, variants: Variants) -> None:
        """Share the channel's invitations; a remote target gets the INVITE from its node."""
        if not self.up:
            return
        folded, invites = channel.folded, json.dumps(sorted(channel.invites))
        self._queue(lambda pipe: pipe.hset(wire.channel_meta(folded), "invites", invites))
        packed = wire.pack_variants(variants)
        event = {"k": "i", "n": self.node, "f": target.folded, "inv": invites, "v": packed}
        self._publish(folded, event, lambda: None)
        node = self.mirror.node_of.get(target.folded)
        if is_ghost(target) and node is not None:
            payload = wire.encode({"k": "p", "f": target.folded, "v": packed})
            self._queue(lambda pipe: pipe.publish(wire.node_channel(node), payload))

    def user_changed(self, client: Client, variants: Variants, cap: str) -> None:
        """Away message, real name or account: other nodes update their copy and tell their users."""
        if not self.up or is_ghost(client) or client.id not in self._user_names:
            return
        info = user_info(client, self.node)
        event = wire.encode({"k": "u", "f": client.folded, "o": None, "i": info,
                             "v": wire.pack_variants(variants), "c": cap})
        folded, stored = client.folded, wire.encode(info)

        def op(pipe: Pipeline) -> None:
            pipe.hset(wire.USERS, folded, stored)
            pipe.publish(wire.USERS_CHANNEL, event)

        self._queue(op)

    def claim_nick(self, client: Client, nick: str, done: Callable[[bool], None]) -> None:
        """SET NX on the casefolded nick (node and epoch); the client's later output waits."""
        folded = casefold(nick)
        holder = self.state.nicks.get(folded)
        if holder is not None and holder is not client:
            done(False)
            return
        if not self.up or self.link is None or folded == client.folded:
            ok = self.state.claim_nick(client, nick)
            if ok and not self.up:
                self.claimed[client.id] = folded  # registered in Redis when it is back
            done(ok)
            return
        self.link.claim(client, nick, folded, done)

    def join(
        self, client: Client, name: str, complete: Callable[[], None],
        refusal: Refusal | None = None,
    ) -> None:
        """Subscribe to the channel if needed, check it, then publish the JOIN; it completes on
        its return. The client's later output waits for it (replies stay in command order)."""
        folded = casefold(name)

        def run() -> None:
            complete()
            if folded in client.channels:
                self.memberships.setdefault(client.id, set()).add(folded)

        if not self.up or self.link is None:
            run()
            return
        if (client.id, folded) in self.pending_joins:
            return  # the same JOIN twice before it came back: once is enough
        self.pending_joins[(client.id, folded)] = PendingJoin(client, run)
        self.link.join(client, name, folded, refusal)

    def leave(self, channel: Channel, member: Client, variants: Variants) -> None:
        """Publish a PART/KICK; every node shows it, then takes the member out."""
        if not self.up:
            self.state.relay(channel.members, variants)
            self.apply_leave(channel, member)
            return
        folded = channel.folded
        event = {"k": "l", "n": self.node, "f": member.folded, "v": wire.pack_variants(variants)}
        member_nick = member.folded
        self._queue(lambda pipe: pipe.hdel(wire.channel_members(folded), member_nick))
        self._publish(folded, event, lambda: self.leave(channel, member, variants))

    def channel_changed(self, channel: Channel, variants: Variants) -> None:
        """Publish a TOPIC/MODE with the channel's new topic, modes and member modes.

        The topic, flags and +b/+e/+I lists are kept in the channel's meta hash and the member
        modes in its member hash, for nodes that join later.
        """
        if not self.up:
            super().channel_changed(channel, variants)
            return
        meta = {"name": channel.name, "topic": channel.topic, "by": channel.topic_by, "at": channel.topic_at,
                "modes": "".join(sorted(channel.modes)), "key": channel.key or "",
                "limit": channel.limit or 0, "lists": pack_lists(channel)}
        node_of = self.mirror.node_of
        members = {m.folded: f"{node_of.get(m.folded, self.node)} {modes}" for m, modes in channel.members.items()}
        folded = channel.folded

        def op(pipe: Pipeline) -> None:
            pipe.hset(wire.channel_meta(folded), mapping=meta)
            if members:
                pipe.hset(wire.channel_members(folded), mapping=members)

        self._queue(op)
        event = {"k": "t", "n": self.node, **meta, "v": wire.pack_variants(variants),
                 "mm": {f: v.partition(" ")[2] for f, v in members.items()}}
        self._publish(folded, event, lambda: Bus.channel_changed(self, channel, variants))

    def disconnect(self, target: Client, reason: str, line: bytes = b"") -> None:
        """KILL of a remote user: its node sends it the KILL line and closes the connection."""
        node = self.mirror.node_of.get(target.folded)
        if not is_ghost(target) or node is None:
            super().disconnect(target, reason, line)
            return
        if self.up:
            payload = wire.encode({"k": "x", "f": target.folded, "t": reason, "l": line.decode("utf-8", "replace")})
            self._queue(lambda pipe: pipe.publish(wire.node_channel(node), payload))

    # ---- hooks -----------------------------------------------------------------------------
    def _announce(self, client: Client) -> None:
        """A local user registered or changed nick: other nodes update their ghost of it."""
        if not client.registered or is_ghost(client) or not self.up:
            return
        info = wire.encode(user_info(client, self.node))
        folded, old = client.folded, self.announced_as(client)
        self._user_names[client.id] = folded
        event = wire.encode({"k": "u", "f": folded, "o": old, "i": user_info(client, self.node)})

        def op(pipe: Pipeline) -> None:
            if old and old != folded:
                pipe.hdel(wire.USERS, old)
            pipe.hset(wire.USERS, folded, info)
            pipe.publish(wire.USERS_CHANNEL, event)

        self._queue(op)

    def announced_as(self, client: Client) -> str | None:
        """The nick other nodes know ``client`` by (None before its first announcement)."""
        return self._user_names.get(client.id)

    def _gone(self, client: Client, reason: str) -> None:
        """A local user disconnected: free its nick and memberships, tell the other nodes."""
        if is_ghost(client):
            return
        nick = self.claimed.pop(client.id, None)
        named = self._user_names.pop(client.id, None)
        channels = self.memberships.pop(client.id, set())
        for folded in channels:  # channels left with ghosts only stop being followed here
            channel = self.state.channels.get(folded)
            if channel is not None and not self.mirror.has_local(channel):
                self.mirror.drop(channel)
            if folded not in self.state.channels and self.link is not None:
                self.link.unsubscribe(folded)
        if not self.up:
            return
        event = wire.encode({"k": "q", "f": named, "t": reason})
        member = client.folded

        def op(pipe: Pipeline) -> None:
            if nick:
                pipe.delete(wire.nick_key(nick))
            if named:
                pipe.hdel(wire.USERS, named)
                pipe.publish(wire.USERS_CHANNEL, event)
            for folded in channels:
                pipe.hdel(wire.channel_members(folded), member)

        self._queue(op)

    # ---- applying what comes back -------------------------------------------------------
    def apply_leave(self, channel: Channel, member: Client) -> None:
        """Take ``member`` out of ``channel`` here; stop following a channel with no local member."""
        if member in channel.members:
            self.mirror.leave(channel, member)
        if not is_ghost(member):
            self.memberships.get(member.id, set()).discard(channel.folded)
        if channel.folded not in self.state.channels and self.link is not None:
            self.link.unsubscribe(channel.folded)

    def on_channel_event(self, folded: str, event: dict[str, Any]) -> None:
        """Deliver one channel event to local members, in the order Redis handed it out."""
        from ..commands.channels import broadcast_join

        state = self.state
        channel = state.channels.get(folded)
        kind = event["k"]
        if kind == "j":
            if event["n"] == self.node:
                run = self.pending_joins.pop((event["c"], folded), None)
                client = state.clients.get(event["c"])
                if run is not None and client is not None and not client.gone:
                    run()
                return
            ghost = self.mirror.ghost(event["f"]) or self.mirror.upsert(event["f"], event["i"])
            if ghost is None or channel is None or ghost in channel.members:
                return
            channel.invites.discard(ghost.folded)  # an invitation is used once, cluster-wide
            self.mirror.add_member(channel, ghost, event["m"])
            broadcast_join(state, channel, ghost)
            return
        if channel is None:
            if kind == "m" and event["n"] == self.node:
                self.turn(event.get("id"))  # its sender left meanwhile
            return
        variants = wire.unpack_variants(event["v"])
        if kind == "m":
            mine = event["n"] == self.node
            skip = state.clients.get(event["s"]) if mine else None
            only = event.get("o")
            deliver(select(channel.members, only) if only else channel.members, variants, skip)
            if mine:
                self.turn(event.get("id"))
        elif kind == "b":  # multiline: the BATCH form to members with the caps, plain lines else
            skip = state.clients.get(event["s"]) if event["n"] == self.node else None
            deliver_batch(channel, variants, wire.unpack_variants(event["b"]), event["c"], skip)
        elif kind == "l":
            deliver(channel.members, variants)
            member = state.nicks.get(event["f"])
            if member is not None:
                self.apply_leave(channel, member)
        elif kind == "i":
            if event["n"] != self.node:
                channel.invites = set(json.loads(event["inv"]))
                deliver((m for m in channel.members if "invite-notify" in m.caps and m.folded != event["f"]), variants)
        elif kind == "t":
            if event["n"] != self.node:
                apply_meta(channel, event)
                modes = event["mm"]
                for member in channel.members:
                    if member.folded in modes:
                        channel.members[member] = modes[member.folded]
            deliver(channel.members, variants)

    def on_user_event(self, event: dict[str, Any]) -> None:
        """A remote user changed nick, registered, or quit (its node may have died)."""
        if event["k"] == "u":
            ghost = self.mirror.upsert(event["f"], event["i"], event.get("o"))
            if ghost is not None and "v" in event:  # AWAY, SETNAME, ACCOUNT: local peers who asked
                self.user_news(ghost, event["c"], wire.unpack_variants(event["v"]))
        elif event["k"] == "q" and event.get("f"):
            self.mirror.remove(event["f"], event["t"])
        elif event["k"] == "w":
            self.on_broadcast(event)

    def on_node_event(self, event: dict[str, Any]) -> None:
        """A private message for a local user, or an operator's KILL from another node."""
        target = self.state.nicks.get(event["f"])
        if target is None or is_ghost(target) or target.gone:
            return
        if event["k"] in ("r", "a"):  # a nick two nodes gave out while Redis was away
            on_settle_event(self, target, event)
        elif event["k"] == "x":
            Bus.disconnect(self, target, event["t"], event.get("l", "").encode())
        else:
            self.on_private(target, event)

    # ---- queueing ---------------------------------------------------------------------------
    def _queue(self, op: Op, fallback: Callable[[], None] | None = None) -> None:
        if self.link is None:
            if fallback is not None:
                fallback()
            return
        self.link.queue(op, fallback)

    def _publish(self, folded: str, event: dict[str, Any], fallback: Callable[[], None]) -> None:
        payload = wire.encode(event)
        link = self.link
        if link is None:
            fallback()
            return
        link.queue(None, fallback, (folded, payload))
