"""Random command sequences from several in-memory clients: no handler raises, state stays consistent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tcp_server.commands import dispatch
from tcp_server.protocol import casefold, parse_line

from ..support import MemoryServer

NICKS = ["alice", "bob", "Carol", "d[x]", "D{X}", "9bad", "", "bob,:x"]
CHANNELS = ["#a", "#A", "#b", "&c", "#", "nochan", "#a,#b", "0", "#a,:x", "#a,,#b"]
TEXT = ["hi", "", ":)", "two words", "x" * 50, "y" * 470, "é" * 235]
MODES = ["+o", "-o", "+v", "-v", "+k", "-k", "+l", "-l", "+imnst", "-imnst", "+b", "+Z", "", "+kl", "o"]
ARGS = NICKS + ["key", "3", "-1", "0", "abc", "::k", "a,b"]

pick = st.sampled_from
line = st.one_of(
    st.builds("NICK {}".format, pick(NICKS)),
    st.builds("USER {} 0 * :real".format, pick(["u", "x y"])),
    st.just("CAP LS 302"),
    st.builds("CAP REQ :{}".format, pick(["message-tags", "echo-message multi-prefix", "-message-tags", "bogus"])),
    st.just("CAP END"),
    st.builds("WEBIRC {} gate {} {}".format, pick(["gw", "bad"]), pick(["h.example", "x!y"]),
              pick(["203.0.113.1", "203.0.113.2", "0::1", "nope"])),
    st.builds("JOIN {} {}".format, pick(CHANNELS), pick(["", "key", "key,key"])),
    st.builds("PART {} :{}".format, pick(CHANNELS), pick(TEXT)),
    st.builds("PRIVMSG {} :{}".format, pick(CHANNELS + NICKS), pick(TEXT)),
    st.builds("NOTICE {} :{}".format, pick(CHANNELS + NICKS), pick(TEXT)),
    st.builds("@+typing=active TAGMSG {}".format, pick(CHANNELS + NICKS)),
    st.builds("TOPIC {} :{}".format, pick(CHANNELS), pick(TEXT)),
    st.builds("TOPIC {}".format, pick(CHANNELS)),
    st.builds("MODE {} {} {} {}".format, pick(CHANNELS + NICKS), pick(MODES), pick(ARGS), pick(ARGS)),
    st.builds("KICK {} {} :{}".format, pick(CHANNELS), pick(NICKS + ["alice,bob"]), pick(TEXT)),
    st.builds("INVITE {} {}".format, pick(NICKS), pick(CHANNELS)),
    st.builds("{} {}".format, pick(["NAMES", "LIST", "WHO", "WHOIS", "ISON", "USERHOST"]), pick(CHANNELS + NICKS)),
    st.builds("WHO {}".format, pick(["*", "0", "a*", "b?b", "[x]*", "*.*"])),
    st.builds("AWAY :{}".format, pick(TEXT)),
    st.builds("OPER {} {}".format, pick(["admin", "x"]), pick(["pw", "wrong"])),
    st.builds("KILL {} :{}".format, pick(NICKS + ["id=1", "id=2", "id=x"]), pick(TEXT)),
    st.builds("STATS {}".format, pick(["l", "u", "x"])),
    st.builds("QUIT :{}".format, pick(TEXT)),
    st.sampled_from(["PING x", "PONG x", "LUSERS", "MOTD", "VERSION", "TIME", "FROB", "JOIN", "MODE"]),
)
steps = st.lists(st.tuples(st.integers(0, 3), line), min_size=1, max_size=40)


def assert_well_formed(raw: bytes) -> None:
    """One CRLF-terminated line whose middle parameters are never empty (no double spaces)."""
    assert raw.endswith(b"\r\n") and raw.count(b"\n") == 1, raw
    line = raw[:-2]
    if line.startswith(b"@"):
        line = line.split(b" ", 1)[1]
    head = line.split(b" :", 1)[0]
    assert b"  " not in head and not head.endswith(b" "), raw
    assert len(line) + 2 <= 512, raw  # every client can parse it


def check_invariants(srv: MemoryServer) -> None:
    state = srv.state
    for folded, client in state.nicks.items():
        assert client.folded == folded == casefold(client.nick)
        assert state.clients.get(client.id) is client and not client.gone
    # Each nick maps to one client and each registered client holds exactly one nick.
    assert len({id(c) for c in state.nicks.values()}) == len(state.nicks)
    for client in state.clients.values():
        if client.registered:
            assert state.nicks.get(client.folded) is client
        assert client.outbox.sendq_bytes >= 0
    for folded, channel in state.channels.items():
        assert channel.members, f"empty channel {channel.name} kept"
        assert channel.folded == folded
        for member in channel.members:
            assert member.channels.get(folded) is channel and not member.gone
            assert member.registered
    for ip in {c.ip for c in state.clients.values()} | {"127.0.0.1"}:
        assert state.clients_from_ip(ip) == sum(1 for c in state.clients.values() if c.ip == ip)
    for client in state.clients.values():
        for folded, channel in client.channels.items():
            assert state.channels.get(folded) is channel and client in channel.members


@settings(max_examples=150, deadline=None)
@given(steps)
def test_random_command_sequences_never_raise_and_keep_state_consistent(script):
    srv = MemoryServer(oper_password="pw", max_channels_per_client=3, webirc_password="gw", max_clients_per_ip=3)
    conns = [srv.connect("alice"), srv.connect("bob"), srv.connect(), srv.connect()]
    for i, text in script:
        conn = conns[i]
        if conn.closed:
            continue
        dispatch(srv.state, conn.client, parse_line(text))
        for c in conns:
            for raw in c.outbox.sent:
                assert_well_formed(raw)
            for msg in c.take():  # every reply parses and names a command
                assert msg.command
        check_invariants(srv)
