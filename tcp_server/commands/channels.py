"""Room commands: JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE.

Vendor extension: LIST replies to an operator with ``message-tags`` carry
``tcpchat.example/messages`` (messages sent to the room), ``tcpchat.example/modes`` and
``tcpchat.example/created`` for the admin page's rooms view.
"""

from __future__ import annotations

import time

from ..protocol import VENDOR_TAG_PREFIX, Message, casefold, format_line, is_valid_channel
from ..protocol import numerics as N
from ..state import TAGS_ALL, Channel, Client, ServerState, build_variants, server_time
from .table import command

VENDOR = VENDOR_TAG_PREFIX


def send_names(state: ServerState, client: Client, channel: Channel) -> None:
    """RPL_NAMREPLY lines (split to fit) and RPL_ENDOFNAMES; +i users only for members."""
    multi = "multi-prefix" in client.caps
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
            entry = channel.member_prefix(member, multi) + member.nick
            if batch and size + len(entry) + 1 > budget:
                client.outbox.send((head + " ".join(batch) + "\r\n").encode())
                batch, size = [], 0
            batch.append(entry)
            size += len(entry) + 1
        if batch:
            client.outbox.send((head + " ".join(batch) + "\r\n").encode())
    state.numeric(client, N.RPL_ENDOFNAMES, channel.name, "End of /NAMES list")


def send_topic(state: ServerState, client: Client, channel: Channel, explicit: bool) -> None:
    """RPL_TOPIC + RPL_TOPICWHOTIME, or RPL_NOTOPIC when asked explicitly."""
    if channel.topic:
        state.numeric(client, N.RPL_TOPIC, channel.name, channel.topic)
        state.numeric(client, N.RPL_TOPICWHOTIME, channel.name, channel.topic_by, str(channel.topic_at))
    elif explicit:
        state.numeric(client, N.RPL_NOTOPIC, channel.name, "No topic is set")


def broadcast(state: ServerState, channel: Channel, source: str, command_: str, *params: str) -> None:
    """Send a channel event (JOIN, PART, TOPIC, KICK, MODE) to every member, with time tags."""
    variants = build_variants(source, command_, params, server_time())
    state.relay(channel.members, variants)


def _join_one(state: ServerState, client: Client, name: str, key: str) -> None:
    s = state.settings
    if not is_valid_channel(name, s.channel_len):
        state.numeric(client, N.ERR_NOSUCHCHANNEL, name, "No such channel")
        return
    channel = state.get_channel(name)
    if channel is not None and client in channel.members:
        return
    if len(client.channels) >= s.max_channels_per_client:
        state.numeric(client, N.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
        return
    if channel is not None:
        invited = client.folded in channel.invites
        if "i" in channel.modes and not invited:
            state.numeric(client, N.ERR_INVITEONLYCHAN, channel.name, "Cannot join channel (+i)")
            return
        if channel.key is not None and key != channel.key and not invited:
            state.numeric(client, N.ERR_BADCHANNELKEY, channel.name, "Cannot join channel (+k)")
            return
        if channel.limit is not None and len(channel.members) >= channel.limit and not invited:
            state.numeric(client, N.ERR_CHANNELISFULL, channel.name, "Cannot join channel (+l)")
            return
    channel = state.join(client, name)
    broadcast(state, channel, client.prefix, "JOIN", channel.name)
    send_topic(state, client, channel, explicit=False)
    send_names(state, client, channel)
    for hook in state.on_join:
        hook(client, channel)


@command("JOIN", min_params=1)
def join(state: ServerState, client: Client, msg: Message) -> None:
    """JOIN #a,#b [key1,key2]; ``JOIN 0`` leaves every channel."""
    if msg.params[0] == "0":
        for channel in list(client.channels.values()):
            broadcast(state, channel, client.prefix, "PART", channel.name, "Left all channels")
            state.part(client, channel)
        return
    keys = msg.param(1).split(",")
    for i, name in enumerate(msg.params[0].split(",")):
        if name:
            _join_one(state, client, name, keys[i] if i < len(keys) else "")


@command("PART", min_params=1)
def part(state: ServerState, client: Client, msg: Message) -> None:
    """PART #a,#b [:reason]."""
    reason = msg.param(1)
    for name in msg.params[0].split(","):
        channel = state.get_channel(name)
        if channel is None:
            state.numeric(client, N.ERR_NOSUCHCHANNEL, name, "No such channel")
        elif client not in channel.members:
            state.numeric(client, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        else:
            params = (channel.name, reason) if reason else (channel.name,)
            broadcast(state, channel, client.prefix, "PART", *params)
            state.part(client, channel)


@command("TOPIC", min_params=1)
def topic(state: ServerState, client: Client, msg: Message) -> None:
    """Show or set a channel topic (+t: operators only)."""
    channel = state.get_channel(msg.params[0])
    if channel is None:
        state.numeric(client, N.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    if len(msg.params) == 1:
        if "s" in channel.modes and client not in channel.members:
            state.numeric(client, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        else:
            send_topic(state, client, channel, explicit=True)
        return
    if client not in channel.members:
        state.numeric(client, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if "t" in channel.modes and not channel.is_op(client):
        state.numeric(client, N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    channel.topic = msg.params[1][: state.settings.topic_len]
    channel.topic_by = client.prefix
    channel.topic_at = int(time.time())
    broadcast(state, channel, client.prefix, "TOPIC", channel.name, channel.topic)


@command("NAMES")
def names(state: ServerState, client: Client, msg: Message) -> None:
    """NAMES #a,#b (without arguments: nothing but the end marker)."""
    if not msg.params:
        state.numeric(client, N.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    for name in msg.params[0].split(","):
        channel = state.get_channel(name)
        if channel is None:
            state.numeric(client, N.RPL_ENDOFNAMES, name, "End of /NAMES list")
        else:
            send_names(state, client, channel)


def _list_line_for_oper(state: ServerState, client: Client, channel: Channel) -> None:
    """RPL_LIST with vendor tags for the admin page: message counter, modes, creation time."""
    tags = {
        VENDOR + "messages": str(channel.messages),
        VENDOR + "modes": channel.mode_string(show_key=False)[0],
        VENDOR + "created": str(channel.created),
    }
    params = (client.nick, channel.name, str(len(channel.members)), channel.topic)
    client.outbox.send(format_line(Message(N.RPL_LIST, params, state.name, tags)))


@command("LIST")
def list_(state: ServerState, client: Client, msg: Message) -> None:
    """LIST [#a,#b]: visible channels with member count and topic (operators see all)."""
    if msg.params and msg.params[0]:
        wanted = [state.get_channel(n) for n in msg.params[0].split(",")]
        channels = [c for c in wanted if c is not None]
    else:
        channels = list(state.channels.values())
    state.numeric(client, N.RPL_LISTSTART, "Channel", "Users  Name")
    for channel in channels:
        hidden = "s" in channel.modes or "p" in channel.modes
        if hidden and client not in channel.members and not client.is_oper:
            continue
        if client.is_oper and client.tag_level == TAGS_ALL:
            _list_line_for_oper(state, client, channel)
            continue
        state.numeric(client, N.RPL_LIST, channel.name, str(len(channel.members)), channel.topic)
    state.numeric(client, N.RPL_LISTEND, "End of /LIST")


@command("KICK", min_params=2)
def kick(state: ServerState, client: Client, msg: Message) -> None:
    """KICK #chan nick[,nick] [:reason] (channel operators only)."""
    channel = state.get_channel(msg.params[0])
    if channel is None:
        state.numeric(client, N.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    if client not in channel.members:
        state.numeric(client, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if not channel.is_op(client):
        state.numeric(client, N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    reason = msg.param(2, client.nick)[:390]
    for name in msg.params[1].split(","):
        target = state.find_nick(name)
        if target is None or target not in channel.members:
            state.numeric(client, N.ERR_USERNOTINCHANNEL, name, channel.name, "They aren't on that channel")
            continue
        broadcast(state, channel, client.prefix, "KICK", channel.name, target.nick, reason)
        state.part(target, channel)
        if channel.folded not in state.channels:
            break


@command("INVITE", min_params=2)
def invite(state: ServerState, client: Client, msg: Message) -> None:
    """INVITE nick #chan: lets the nick past +i, +k and +l once."""
    target = state.find_nick(msg.params[0])
    if target is None:
        state.numeric(client, N.ERR_NOSUCHNICK, msg.params[0], "No such nick/channel")
        return
    channel = state.get_channel(msg.params[1])
    if channel is None:
        state.numeric(client, N.ERR_NOSUCHCHANNEL, msg.params[1], "No such channel")
        return
    if client not in channel.members:
        state.numeric(client, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if target in channel.members:
        state.numeric(client, N.ERR_USERONCHANNEL, target.nick, channel.name, "is already on channel")
        return
    if "i" in channel.modes and not channel.is_op(client):
        state.numeric(client, N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    channel.invites.add(casefold(target.nick))
    state.numeric(client, N.RPL_INVITING, target.nick, channel.name)
    state.send_to_client(target, client.prefix, "INVITE", target.nick, channel.name)
    if target.away:
        state.numeric(client, N.RPL_AWAY, target.nick, target.away)
