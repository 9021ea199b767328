"""IRC command handlers, one module per topic, registered in ``COMMANDS``.

Commands: CAP (LS 302/LIST/REQ/END), PASS, WEBIRC, NICK, USER, PING, PONG, QUIT (registration);
JOIN, PART, TOPIC, NAMES (several channels), KICK (several nicks, or channel,nick pairs), INVITE
(channels); LIST with ELIST filters (listing); MODE
(channel o v k l i m n t s p and the lists b e I with nick!user@host masks, bans.py; user i w B,
-o) (modes); PRIVMSG, NOTICE (also to @#chan / +#chan: STATUSMSG), TAGMSG (messaging); WHOIS,
ISON, USERHOST, AWAY, LUSERS, MOTD, INFO, VERSION, TIME (queries); ADMIN, LINKS (serverinfo); WHO with WHOX (who); MONITOR,
WHOWAS with several nicks (monitor); SETNAME (setname); HELP, HELPOP (help); WALLOPS (wallops); BATCH for
draft/multiline (multiline); REDACT (redact); MARKREAD (markread); OPER, KILL, STATS l/u
(operator); CHATHISTORY (history); SEARCH, a vendor full-text search of a channel's history
(search); REGISTER, VERIFY, NS CERT ADD (accounts); ACCOUNTADMIN LIST|APPROVE|DISABLE|ENABLE|DROP|RESETPASS
(accountadmin);
AUTHENTICATE (sasl); CS/CHANSERV REGISTER|UNREGISTER|INFO (chanserv).

Capabilities: message-tags, server-time, echo-message, multi-prefix, away-notify (also sent when
an away user joins), batch, labeled-response (applied by each command's ResponseBuffer,
state/responses.py), userhost-in-names, extended-monitor (also offered as draft/extended-monitor,
its name before ratification), setname, cap-notify (the set never changes while running, so no
CAP NEW/DEL), invite-notify, no-implicit-names, draft/multiline (max-bytes, max-lines),
draft/read-marker, draft/chathistory and draft/message-redaction (these two only with history);
sasl, account-tag, account-notify, extended-join, draft/account-registration (with accounts).
Client-only tags (``+typing``, ``+draft/reply``, ``+draft/react``...) go with TAGMSG/PRIVMSG/NOTICE
to message-tags clients. PRIVMSG/NOTICE text always goes out as a trailing parameter; a +B user's
messages carry the ``bot`` tag. Errors without a numeric are standard replies
(``FAIL <command> <CODE> [context] :text``, replies.py).
ISUPPORT (005): AWAYLEN, BOT=B, CASEMAPPING=rfc1459, CHANLIMIT, CHANMODES=beI,k,l,imnpst,
CHANNELLEN, CHANTYPES=#&, ELIST=CMNTU, KICKLEN, MODES, NETWORK, NAMELEN, NICKLEN, PREFIX=(ov)@+,
TARGMAX (PRIVMSG/NOTICE: max_targets; KICK/NAMES/WHOWAS: max_query_targets), STATUSMSG=@+,
TOPICLEN, UTF8ONLY (invalid UTF-8 is decoded with U+FFFD, the bad bytes are never relayed; the
sender gets ``WARN <command> INVALID_UTF8``, protocol/utf8.py), EXCEPTS, INVEX, MAXLIST, MONITOR,
WHOX; with history CHATHISTORY and MSGREFTYPES=msgid,timestamp; with accounts EXTBAN=$,a.

Replies: 001-005, 211, 219, 221, 242, 251-259, 265, 266, 301, 302, 303, 305, 306, 311, 312, 313, 314, 315, 317,
318, 319, 321-324, 329, 331-333, 335, 338, 341, 346-349, 351, 352, 353, 354, 364, 365, 366-369, 371, 372,
374-376, 381, 391, 704-706, 730-733, and for accounts 330, 900, 901, 903, 908. Errors: 400 (NUL/CR in a line), 401, 402, 403, 404, 405, 406,
407, 410, 411, 412, 417, 421, 422, 423, 431, 432, 433, 441, 442, 443, 451, 461, 462, 464, 471, 472,
473, 474, 475, 478, 481, 482, 501, 502, 524, 734, 904-907. Replies with user text are cut to fit 512
bytes; hosts are cloaked for other users unless ``cloak_hosts`` is off.
"""

from . import (  # noqa: F401  (register)
    accountadmin,
    accounts,
    channels,
    chanserv,
    help,
    history,
    listing,
    markread,
    messaging,
    modes,
    monitor,
    multiline,
    operator,
    queries,
    redact,
    registration,
    sasl,
    search,
    serverinfo,
    setname,
    wallops,
    who,
)
from .table import COMMANDS, Command, dispatch, unknown_command

__all__ = ["COMMANDS", "Command", "dispatch", "unknown_command"]
