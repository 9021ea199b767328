"""Channel list modes +b, +e, +I: listing (367/368, 348/349, 346/347) and changing entries.

Masks are ``nick!user@host`` globs, completed (``bob`` -> ``bob!*@*``) and compared with the
server's casemapping; which host they match is explained in ``state/masks.py``. One limit,
``max_list_entries``, counts each list separately (``MAXLIST=beI:n`` in 005).
"""

from __future__ import annotations

from ..protocol import casefold
from ..protocol import numerics as N
from ..state import Channel, Client, ServerState
from ..state.masks import LIST_MODES, new_entry, normalize_mask
from ..state.responses import ResponseBuffer

LIST_REPLIES = {
    "b": (N.RPL_BANLIST, N.RPL_ENDOFBANLIST, "End of channel ban list"),
    "e": (N.RPL_EXCEPTLIST, N.RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
    "I": (N.RPL_INVITELIST, N.RPL_ENDOFINVITELIST, "End of channel invite list"),
}


def send_list(state: ServerState, client: Client, rb: ResponseBuffer, channel: Channel, letter: str) -> None:
    """Every entry of list ``letter`` (mask, setter, time), then its end-of-list numeric."""
    item, end, text = LIST_REPLIES[letter]
    for entry in channel.lists.get(letter, {}).values():
        rb.numeric(item, channel.name, entry.mask, entry.setter, str(entry.set_at))
    rb.numeric(end, channel.name, text)


def change_list(
    state: ServerState, client: Client, rb: ResponseBuffer, channel: Channel, letter: str, adding: bool, mask: str
) -> str | None:
    """Add or remove ``mask`` on list ``letter``; the mask as applied, or None for no change.

    A full list answers 478 (ERR_BANLISTFULL); adding a present mask or removing an absent one
    changes nothing and is not echoed.
    """
    if not mask or " " in mask:
        return None
    mask = normalize_mask(mask)
    folded = casefold(mask)
    entries = channel.lists.get(letter)
    if not adding:
        if entries is None or folded not in entries:
            return None
        removed = entries.pop(folded)
        if not entries:
            del channel.lists[letter]
        return removed.mask
    if entries is None:
        entries = channel.lists[letter] = {}
    if folded in entries:
        return None
    if len(entries) >= state.settings.max_list_entries:
        state.numeric(client, N.ERR_BANLISTFULL, channel.name, letter, "Channel list is full")
        return None
    entries[folded] = new_entry(mask, client.prefix, client.is_oper)
    return mask


def isupport_list_tokens(state: ServerState) -> list[str]:
    """The 005 tokens describing list modes."""
    return ["EXCEPTS=e", "INVEX=I", f"MAXLIST={LIST_MODES}:{state.settings.max_list_entries}"]
