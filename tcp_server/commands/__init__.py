"""IRC command handlers, one module per topic, registered in ``COMMANDS``.

Commands: CAP (LS 302/LIST/REQ/END), PASS, WEBIRC, NICK, USER, PING, PONG, QUIT (registration);
JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE (channels); MODE (channel o v k l i m n t s p, user
i; ban lists answer end-of-list only); PRIVMSG, NOTICE, TAGMSG (messaging); WHO, WHOIS, ISON,
USERHOST, AWAY, LUSERS, MOTD, VERSION, TIME (queries); OPER, KILL, STATS l/u (operator);
CHATHISTORY (history); REGISTER, VERIFY, AUTHENTICATE, NS CERT ADD, ACCOUNTADMIN (operators),
CS/CHANSERV REGISTER|UNREGISTER|INFO (accounts, sasl, chanserv). Capabilities: message-tags, server-time, echo-message, multi-prefix,
away-notify, batch, labeled-response (applied by the transport), draft/chathistory, sasl,
account-tag, account-notify, extended-join, draft/account-registration.

Errors: 400 (NUL/CR in a line), 401, 403, 404, 405, 407, 410, 411, 412, 417, 421, 422, 431, 432,
433, 441, 442, 443, 451, 461, 462, 464, 471, 472, 473, 475, 481, 482, 501, 502; accounts: 330,
900, 903, 904, 905, 906, 907, 908 and FAIL REGISTER/VERIFY codes. Replies with user
text are cut to fit 512 bytes; hosts are cloaked for other users unless ``cloak_hosts`` is off.
"""

from . import (  # noqa: F401  (register)
    accounts,
    channels,
    chanserv,
    history,
    messaging,
    modes,
    operator,
    queries,
    registration,
    sasl,
)
from .table import COMMANDS, Command, dispatch, unknown_command

__all__ = ["COMMANDS", "Command", "dispatch", "unknown_command"]
