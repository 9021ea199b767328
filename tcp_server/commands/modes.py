"""MODE for channels (+o +v +t +n +m +i +s +p +k +l, lists +b +e +I) and users.

User modes: +i (invisible), +w (receives WALLOPS), +B (a bot: ``BOT=B``, WHO flag ``B``, WHOIS 335
and the ``bot`` tag on its messages), -o (drop operator status; +o only through OPER).
"""

from __future__ import annotations

from ..protocol import Message, is_channel_name
from ..protocol import numerics as N
from ..state import Channel, Client, ServerState, build_variants, server_time
from ..state.masks import LIST_MODES
from ..state.responses import ResponseBuffer
from .bans import change_list, send_list
from .table import command

PARAM_ALWAYS = "ovk" + LIST_MODES
PARAM_ON_SET = "l"
SELF_MODES = "iwB"
"""User modes a user may set and unset on itself."""
MAX_PARAM_MODES = 4
"""Mode changes with a parameter per MODE command (advertised as ``MODES`` in 005)."""


def _user_mode(state: ServerState, client: Client, rb: ResponseBuffer, msg: Message) -> None:
    target = state.find_nick(msg.params[0])
    if target is None:
        rb.numeric(N.ERR_NOSUCHNICK, msg.params[0], "No such nick/channel")
        return
    if target is not client:
        rb.numeric(N.ERR_USERSDONTMATCH, "Cant change mode for other users")
        return
    if len(msg.params) == 1:
        rb.numeric(N.RPL_UMODEIS, "+" + "".join(sorted(client.modes)))
        return
    adding, applied, last_sign = True, "", ""
    for ch in msg.params[1]:
        if ch in "+-":
            adding = ch == "+"
            continue
        if ch in SELF_MODES:
            if adding == (ch in client.modes):
                continue
            state.set_user_mode(client, ch, adding)
        elif ch == "o":
            if adding or not client.is_oper:  # +o only through OPER
                continue
            state.set_oper(client, False)
        else:
            rb.numeric(N.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
            continue
        sign = "+" if adding else "-"
        applied += ch if sign == last_sign else sign + ch
        last_sign = sign
    if applied:
        rb.add(f":{client.prefix} MODE {client.nick} {applied}\r\n".encode())


def _apply_channel_modes(
    state: ServerState, client: Client, rb: ResponseBuffer, channel: Channel, modestr: str, args: list[str]
) -> tuple[str, list[str]]:
    adding, out, out_args, last_sign = True, "", [], ""
    budget = MAX_PARAM_MODES
    for ch in modestr:
        if ch in "+-":
            adding = ch == "+"
            continue
        arg = None
        if ch in LIST_MODES and not args:  # ``MODE #c +b`` lists the bans
            send_list(state, client, rb, channel, ch)
            continue
        if ch in PARAM_ALWAYS or (ch in PARAM_ON_SET and adding):
            if budget == 0:  # beyond MODES: ignored, like other servers do
                continue
            budget -= 1
            if not args:
                if ch != "k":
                    state.numeric(client, N.ERR_NEEDMOREPARAMS, "MODE", "Not enough parameters")
                    continue
            else:
                arg = args.pop(0)
        if ch in "ov":
            target = state.find_nick(arg or "")
            if target is None:
                state.numeric(client, N.ERR_NOSUCHNICK, arg or "*", "No such nick/channel")
                continue
            if target not in channel.members:
                state.numeric(client, N.ERR_USERNOTINCHANNEL, arg or "*", channel.name, "They aren't on that channel")
                continue
            modes = channel.members[target]
            if adding == (ch in modes):
                continue
            channel.members[target] = modes + ch if adding else modes.replace(ch, "")
            arg = target.nick
        elif ch in LIST_MODES:
            arg = change_list(state, client, rb, channel, ch, adding, arg or "")
            if arg is None:
                continue
        elif ch == "k":
            if adding:
                if not arg or " " in arg:
                    continue
                channel.key = arg
            else:
                if channel.key is None:
                    continue
                arg, channel.key = "*", None
        elif ch == "l":
            if adding:
                if not (arg or "").isdigit() or int(arg or 0) <= 0:
                    continue
                channel.limit = int(arg or 0)
            elif channel.limit is None:
                continue
            else:
                channel.limit = None
        elif ch in "imnstp":
            if adding == (ch in channel.modes):
                continue
            (channel.modes.add if adding else channel.modes.discard)(ch)
        else:
            state.numeric(client, N.ERR_UNKNOWNMODE, ch, "is unknown mode char to me")
            continue
        sign = "+" if adding else "-"
        if sign != last_sign:
            out += sign
            last_sign = sign
        out += ch
        if arg is not None:
            out_args.append(arg)
    return out, out_args


@command("MODE", min_params=1)
def mode(state: ServerState, client: Client, msg: Message, rb: ResponseBuffer) -> None:
    """Query or change channel and user modes."""
    if not is_channel_name(msg.params[0]):
        _user_mode(state, client, rb, msg)
        return
    letter = msg.param(1).lstrip("+")
    question = not letter or (len(letter) == 1 and letter in LIST_MODES and len(msg.params) == 2)
    if question or client.is_oper:
        # in a cluster, about a channel on any node: an IRC operator may change one with no
        # member here (its change is published like any other; the channel is not followed)
        state.bus.find_channel(rb, msg.params[0], lambda rb, found: _channel_mode(state, client, rb, msg, found))
    else:
        _channel_mode(state, client, rb, msg, state.get_channel(msg.params[0]))


def _channel_mode(
    state: ServerState, client: Client, rb: ResponseBuffer, msg: Message, channel: Channel | None
) -> None:
    if channel is None:
        rb.numeric(N.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    modestr = msg.param(1)
    letter = modestr.lstrip("+")
    if not letter:
        rb.numeric(N.RPL_CHANNELMODEIS, channel.name, *channel.mode_string(client in channel.members))
        rb.numeric(N.RPL_CREATIONTIME, channel.name, str(channel.created))
        return
    if len(letter) == 1 and letter in LIST_MODES and len(msg.params) == 2:
        send_list(state, client, rb, channel, letter)
        return
    if not channel.is_op(client) and not client.is_oper:
        rb.numeric(N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    applied, args = _apply_channel_modes(state, client, rb, channel, modestr, list(msg.params[2:]))
    if applied:
        variants = build_variants(client.prefix, "MODE", (channel.name, applied, *args), server_time())
        state.bus.channel_changed(channel, variants)
        for hook in state.on_channel_change:
            hook(channel)
