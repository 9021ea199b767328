"""Room commands: JOIN, PART, TOPIC, NAMES, KICK, INVITE (LIST is in ``listing.py``).

With ``no-implicit-names`` a JOIN is not followed by NAMES; with ``invite-notify`` members see
the INVITEs others send for the channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..protocol import VENDOR_TAG_PREFIX, Message, casefold, is_valid_channel
from ..protocol import numerics as N
from ..state import Channel, Client, ServerState, build_variants, server_time
from ..state.responses import ResponseBuffer
from .markread import CAP as MARKREAD_CAP
from .markread import send_marker
from .table import command

VENDOR = VENDOR_TAG_PREFIX


def send_names(
    state: ServerState, client: Client, rb: ResponseBuffer, channel: Channel, end: bool = True
) -> None:
    """RPL_NAMREPLY lines (split to fit) and RPL_ENDOFNAMES (unless ``end`` is False: a
    multi-channel NAMES ends once, after all); +i users only for members."""
    multi = "multi-prefix" in client.caps
    full = "userhost-in-names" in client.caps
    inside = client in channel.members
    if inside or "s" not in channel.modes:
        symbol = "@" if "s" in channel.modes else "*" if "p" in channel.modes else "="
        head = f":{state.name} {N.RPL_NAMREPLY} {client.nick} {symbol} {channel.name} :"
        budget = 510 - len(head.encode())
        batch: list[str] = []
        size = 0
        for member in channel.members:
            if not inside and "i" in member.modes and not client.is_oper:
                continue
            entry = channel.member_prefix(member, multi) + (member.prefix if full else member.nick)
            if batch and size + len(entry) + 1 > budget:
                rb.add((head + " ".join(batch) + "\r\n").encode())
                batch, size = [], 0
            batch.append(entry)
            size += len(entry) + 1
        if batch:
            rb.add((head + " ".join(batch) + "\r\n").encode())
    if end:
        rb.numeric(N.RPL_ENDOFNAMES, channel.name, "End of /NAMES list")


def send_topic(state: ServerState, client: Client, rb: ResponseBuffer, channel: Channel, explicit: bool) -> None:
    """RPL_TOPIC + RPL_TOPICWHOTIME, or RPL_NOTOPIC when asked explicitly."""
    if channel.topic:
        rb.numeric(N.RPL_TOPIC, channel.name, channel.topic)
        rb.numeric(N.RPL_TOPICWHOTIME, channel.name, channel.topic_by, str(channel.topic_at))
    elif explicit:
        rb.numeric(N.RPL_NOTOPIC, channel.name, "No topic is set")


def broadcast(state: ServerState, channel: Channel, source: str, command_: str, *params: str) -> None:
    """Send a channel event (JOIN, PART, TOPIC, KICK, MODE) to every member, with time tags."""
    variants = build_variants(source, command_, params, server_time())
    state.relay(channel.members, variants)


def join_refusal(client: Client, channel: Channel, key: str) -> tuple[str, str] | None:
    """Why ``client`` may not join (+b, +i, +k, +l; an invitation passes +i, +k and +l):
    the numeric and its text, or None."""
    invited = client.folded in channel.invites
    if channel.lists and channel.is_banned(client):
        return N.ERR_BANNEDFROMCHAN, "Cannot join channel (+b)"
    if "i" in channel.modes and not invited and not channel.invite_exempt(client):
        return N.ERR_INVITEONLYCHAN, "Cannot join channel (+i)"
    if channel.key is not None and key != channel.key and not invited:
        return N.ERR_BADCHANNELKEY, "Cannot join channel (+k)"
    if channel.limit is not None and len(channel.members) >= channel.limit and not invited:
        return N.ERR_CHANNELISFULL, "Cannot join channel (+l)"
    return None


def _may_join(state: ServerState, client: Client, rb: ResponseBuffer, channel: Channel, key: str) -> bool:
    """``join_refusal``, answered to the client."""
    refusal = join_refusal(client, channel, key)
    if refusal is not None:
        rb.numeric(refusal[0], channel.name, refusal[1])
        return False
    return True


def broadcast_join(state: ServerState, channel: Channel, client: Client) -> None:
    """The JOIN to every member; ``extended-join`` members also get the account and real name.

    The joiner's copy answers its command (``send``); the others' is a line of the channel
    (``deliver``: in a cluster it keeps the channel's order against a member's pending echo).
    """
    now = server_time()
    plain = build_variants(client.prefix, "JOIN", (channel.name,), now)
    extended = plain if state.accounts is None else build_variants(
        client.prefix, "JOIN", (channel.name, client.account or "*", client.realname), now
    )
    for member in channel.members:
        line = (extended if "extended-join" in member.caps else plain)[member.tag_level]
        if member is client:
            member.outbox.send(line)
        else:
            member.outbox.deliver(line)


def _join_one(state: ServerState, client: Client, rb: ResponseBuffer, name: str, key: str) -> None:
    s = state.settings
    if not is_valid_channel(name, s.channel_len):
        rb.numeric(N.ERR_NOSUCHCHANNEL, name, "No such channel")
        return
    channel = state.get_channel(name)
    if channel is not None and client in channel.members:
        return
    if len(client.channels) >= s.max_channels_per_client:
        rb.numeric(N.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
        return
    if channel is None and state.channel_restorer is not None:
        channel = state.channel_restorer(name)  # a registered channel comes back with its modes
        if channel is not None:
            state.channels[channel.folded] = channel
    if channel is not None and not _may_join(state, client, rb, channel, key):
        if not channel.members:  # a restored channel nobody got into
            state.channels.pop(channel.folded, None)
        return
    # a cluster node that did not know the channel checks again once it has loaded it
    state.bus.join(client, name, lambda: complete_join(state, client, rb, name),
                   lambda loaded: join_refusal(client, loaded, key))


def complete_join(state: ServerState, client: Client, rb: ResponseBuffer, name: str) -> None:
    """Add ``client`` to ``name`` and announce it: JOIN to members, then topic and NAMES to it.

    Runs at once on a lone node; in a cluster, when the JOIN comes back in the channel's order
    (``rb`` then writes straight to the connection, in the place the bus reserved).
    """
    channel = state.join(client, name)
    broadcast_join(state, channel, client)
    if client.away:  # away-notify: members learn at once that the newcomer is away
        away = build_variants(client.prefix, "AWAY", (client.away,), server_time())
        state.relay((m for m in channel.members if "away-notify" in m.caps), away, skip=client)
    send_topic(state, client, rb, channel, explicit=False)
    if MARKREAD_CAP in client.caps:
        send_marker(state, client, rb, channel.name)
    if "no-implicit-names" not in client.caps:
        send_names(state, client, rb, channel)
    for hook in state.on_join:
        hook(client, channel)


@command("JOIN", min_params=1)
def join(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """JOIN #a,#b [key1,key2]; ``JOIN 0`` leaves every channel."""
    if msg.params[0] == "0":
        for channel in list(client.channels.values()):
            variants = build_variants(client.prefix, "PART", (channel.name, "Left all channels"), server_time())
            state.bus.leave(channel, client, variants)
        return
    keys = msg.param(1).split(",")
    for i, name in enumerate(msg.params[0].split(",")):
        if name:
            _join_one(state, client, rb, name, keys[i] if i < len(keys) else "")


@command("PART", min_params=1)
def part(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """PART #a,#b [:reason]."""
    reason = msg.param(1)
    for name in msg.params[0].split(","):
        channel = state.get_channel(name)
        if channel is None:
            rb.numeric(N.ERR_NOSUCHCHANNEL, name, "No such channel")
        elif client not in channel.members:
            rb.numeric(N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        else:
            params = (channel.name, reason) if reason else (channel.name,)
            state.bus.leave(channel, client, build_variants(client.prefix, "PART", params, server_time()))


@command("TOPIC", min_params=1)
def topic(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Show or set a channel topic (+t: operators only)."""
    if len(msg.params) == 1:  # a question: in a cluster, about a channel on any node
        name = msg.params[0]
        state.bus.find_channel(rb, name, lambda rb, found: _show_topic(state, client, rb, name, found))
        return
    channel = state.get_channel(msg.params[0])
    if channel is None:
        rb.numeric(N.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    if client not in channel.members:
        rb.numeric(N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if "t" in channel.modes and not channel.is_op(client):
        rb.numeric(N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    channel.topic = msg.params[1][: state.settings.topic_len]
    channel.topic_by = client.prefix
    channel.topic_at = int(time.time())
    variants = build_variants(client.prefix, "TOPIC", (channel.name, channel.topic), server_time())
    state.bus.channel_changed(channel, variants)
    for hook in state.on_channel_change:
        hook(channel)


def _show_topic(state: ServerState, client: Client, rb: ResponseBuffer, name: str, channel: Channel | None) -> None:
    if channel is None:
        rb.numeric(N.ERR_NOSUCHCHANNEL, name, "No such channel")
    elif "s" in channel.modes and client not in channel.members:
        rb.numeric(N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
    else:
        send_topic(state, client, rb, channel, explicit=True)


@command("NAMES")
def names(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """NAMES #a,#b: the members of each, then one RPL_ENDOFNAMES naming the list as given
    (RFC 2812 3.2.5; a missing channel only shows in that end marker). Without arguments:
    nothing but the end marker. More than ``max_query_targets`` channels: 407."""
    if not msg.params:
        rb.numeric(N.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    wanted = [n for n in msg.params[0].split(",") if n]
    if len(wanted) > state.settings.max_query_targets:
        rb.numeric(N.ERR_TOOMANYTARGETS, msg.params[0], "Too many targets")
        return
    if len(wanted) == 1:
        state.bus.find_channel(rb, wanted[0], _names_of(state, client, wanted[0], end=True))
        return
    for name in wanted:
        state.bus.find_channel(rb, name, _names_of(state, client, name, end=False))
    rb.numeric(N.RPL_ENDOFNAMES, msg.params[0], "End of /NAMES list")


def _names_of(
    state: ServerState, client: Client, name: str, end: bool
) -> Callable[[ResponseBuffer, Channel | None], None]:
    def reply(rb: ResponseBuffer, channel: Channel | None) -> None:
        if channel is not None:
            send_names(state, client, rb, channel, end)
        elif end:
            rb.numeric(N.RPL_ENDOFNAMES, name, "End of /NAMES list")

    return reply


@command("KICK", min_params=2)
def kick(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """KICK #chan nick[,nick] [:reason], or KICK #a,#b nick1,nick2 (pairs), channel operators only.

    RFC 2812 3.2.8: one channel and several nicks, or as many channels as nicks; anything
    else is 461. At most ``max_query_targets`` kicks (TARGMAX KICK), more is 407.
    """
    channels = msg.params[0].split(",")
    nicks = [n for n in msg.params[1].split(",") if n]
    if not nicks or (len(channels) != 1 and len(channels) != len(nicks)):
        rb.numeric(N.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters")
        return
    if len(nicks) > state.settings.max_query_targets:
        rb.numeric(N.ERR_TOOMANYTARGETS, msg.params[1], "Too many targets")
        return
    reason = msg.param(2, client.nick)[:390]
    refused: set[str] = set()  # channels already answered with an error: one error each
    for chan_name, nick in zip(channels * len(nicks) if len(channels) == 1 else channels, nicks, strict=True):
        folded = casefold(chan_name)
        if folded not in refused and not _kick_one(state, client, rb, chan_name, nick, reason):
            refused.add(folded)


def _kick_one(state: ServerState, client: Client, rb: ResponseBuffer, chan_name: str, nick: str, reason: str) -> bool:
    """One kick; False when the channel refuses every further kick (gone, not a member, not op)."""
    channel = state.get_channel(chan_name)
    if channel is None:
        rb.numeric(N.ERR_NOSUCHCHANNEL, chan_name, "No such channel")
        return False
    if client not in channel.members:
        rb.numeric(N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return False
    if not channel.is_op(client):
        rb.numeric(N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return False
    target = state.find_nick(nick)
    if target is None or target not in channel.members:
        rb.numeric(N.ERR_USERNOTINCHANNEL, nick, channel.name, "They aren't on that channel")
        return True
    variants = build_variants(client.prefix, "KICK", (channel.name, target.nick, reason), server_time())
    state.bus.leave(channel, target, variants)
    return True


@command("INVITE", min_params=2)
def invite(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """INVITE nick #chan: lets the nick past +i, +k and +l once."""
    target = state.find_nick(msg.params[0])
    if target is None:
        rb.numeric(N.ERR_NOSUCHNICK, msg.params[0], "No such nick/channel")
        return
    channel = state.get_channel(msg.params[1])
    if channel is None:
        rb.numeric(N.ERR_NOSUCHCHANNEL, msg.params[1], "No such channel")
        return
    if client not in channel.members:
        rb.numeric(N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if target in channel.members:
        rb.numeric(N.ERR_USERONCHANNEL, target.nick, channel.name, "is already on channel")
        return
    if "i" in channel.modes and not channel.is_op(client):
        rb.numeric(N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    channel.invites.add(casefold(target.nick))
    rb.numeric(N.RPL_INVITING, target.nick, channel.name)
    now = server_time()
    account = {"account": client.account} if client.account else None  # account-tag
    target.outbox.send(build_variants(client.prefix, "INVITE", (target.nick, channel.name), now, account)[target.tag_level])
    notify = build_variants(client.prefix, "INVITE", (target.nick, channel.name), now)
    state.relay(  # invite-notify: members who asked see who invited whom
        (m for m in channel.members if "invite-notify" in m.caps and m is not target), notify, skip=client
    )
    state.bus.invited(channel, target, notify)
    if target.away:
        rb.numeric(N.RPL_AWAY, target.nick, target.away)
