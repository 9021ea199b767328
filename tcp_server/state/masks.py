"""Channel list modes (+b bans, +e exceptions, +I invite exceptions) and the masks they hold.

Which host a mask matches: every mask matches the ``nick!user@host`` that others see, with the
*cloaked* host (hosts are cloaked by default). A mask set by an IRC operator also matches the real
address (``nick!user@ip`` and the WEBIRC host name). Channel operators who are not IRC operators
never match real addresses: trying bans would otherwise tell them a user's IP.

Extended bans (``$type:value``, e.g. ``$a:account``) are looked up in ``EXTBANS``: another module
registers a matcher for its type letter; an unknown type matches nobody.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..protocol import casefold

if TYPE_CHECKING:
    from .client import Client

LIST_MODES = "beI"
"""Channel modes holding a list of masks: bans, ban exceptions, invite exceptions."""

EXTBANS: dict[str, Callable[[str, Client], bool]] = {}
"""Extended ban matchers by type letter: ``EXTBANS['a'] = lambda value, client: ...``."""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One +b/+e/+I entry: the mask as set, who set it and when (for 367/348/346)."""

    mask: str
    setter: str
    set_at: int
    by_oper: bool = False


def normalize_mask(mask: str) -> str:
    """A complete ``nick!user@host`` mask: ``bob`` -> ``bob!*@*``, ``*@h`` -> ``*!*@h``.

    Extended bans (``$a:name``) are kept as given.
    """
    if mask.startswith("$"):
        return mask
    nick, bang, rest = mask.partition("!")
    if not bang:
        if "@" in mask:
            nick, rest = "*", mask
        else:
            rest = ""
    user, at, host = rest.partition("@")
    return f"{nick or '*'}!{user or '*'}@{host if at and host else '*'}"


@lru_cache(maxsize=4096)
def glob_pattern(mask: str) -> re.Pattern[str]:
    """An IRC mask (``*`` and ``?`` only; ``[`` is a nick character) as a case-folded regex."""
    return re.compile(re.escape(casefold(mask)).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z", re.S)


def entry_matches(entry: ListEntry, client: Client) -> bool:
    """Whether ``entry`` covers ``client`` (see the module docstring for which host is used)."""
    mask = entry.mask
    if mask.startswith("$"):
        kind, _, value = mask[1:].partition(":")
        matcher = EXTBANS.get(kind)
        return matcher is not None and matcher(value, client)
    pattern = glob_pattern(mask)
    if pattern.match(casefold(client.prefix)):
        return True
    if entry.by_oper:
        base = f"{client.nick}!{client.user or '*'}@"
        return any(pattern.match(casefold(base + h)) for h in {client.real_host, client.ip})
    return False


def any_match(entries: dict[str, ListEntry] | None, client: Client) -> bool:
    """True when any entry of a list covers ``client`` (an absent list covers nobody)."""
    return entries is not None and any(entry_matches(e, client) for e in entries.values())


def new_entry(mask: str, setter: str, by_oper: bool) -> ListEntry:
    """A list entry set now."""
    return ListEntry(mask, setter, int(time.time()), by_oper)
