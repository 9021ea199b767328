"""RedisBus's receiving side in memory: events in, lines out to local users (no Redis, no sockets).

The bus is built without a link, so what handlers do stays local; the events another node would
publish are fed to ``on_user_event`` / ``on_channel_event`` / ``on_node_event`` directly.
"""

from __future__ import annotations

from tcp_server.cluster.bus import RedisBus
from tcp_server.cluster.wire import pack_variants
from tcp_server.state import build_variants

from ..support import MemoryServer


def _node() -> tuple[MemoryServer, RedisBus]:
    server = MemoryServer(node_id="here")
    bus = RedisBus(server.state, server.state.settings)
    server.state.bus = bus
    return server, bus


def _info(nick: str, node: str = "there") -> dict[str, object]:
    return {"node": node, "nick": nick, "user": "~r", "host": "remote.host", "realname": "R", "account": None}


def test_remote_user_joins_speaks_renames_and_quits() -> None:
    server, bus = _node()
    local = server.connect("local")
    local.send("JOIN #r")
    bus.on_user_event({"k": "u", "f": "rem", "o": None, "i": _info("Rem")})
    bus.on_channel_event("#r", {"k": "j", "n": "there", "c": 7, "f": "rem", "m": "", "i": _info("Rem")})
    joined = local.take()
    assert [(m.command, m.source) for m in joined] == [("JOIN", "Rem!~r@remote.host")]
    names = local.send("NAMES #r")
    assert set(names[0].params[-1].split()) == {"@local", "Rem"}
    line = build_variants("Rem!~r@remote.host", "PRIVMSG", ("#r", "hi"), "2026-01-01T00:00:00.000Z")
    bus.on_channel_event("#r", {"k": "m", "n": "there", "s": 7, "v": pack_variants(line)})
    assert [m.params for m in local.take()] == [("#r", "hi")]
    bus.on_user_event({"k": "u", "f": "rem2", "o": "rem", "i": _info("Rem2")})
    nick = local.take()
    assert [(m.command, m.source, m.params) for m in nick] == [("NICK", "Rem!~r@remote.host", ("Rem2",))]
    assert server.state.find_nick("rem") is None and server.state.find_nick("REM2") is not None
    bus.on_user_event({"k": "q", "f": "rem2", "t": "node lost"})
    quit_ = local.take()
    assert [(m.command, m.params) for m in quit_] == [("QUIT", ("node lost",))]
    assert set(local.send("NAMES #r")[0].params[-1].split()) == {"@local"}


def test_kick_from_another_node_removes_the_local_member() -> None:
    server, bus = _node()
    local = server.connect("local")
    local.send("JOIN #r")
    line = build_variants("op!~o@x", "KICK", ("#r", "local", "bye"), "2026-01-01T00:00:00.000Z")
    bus.on_channel_event("#r", {"k": "l", "n": "there", "f": "local", "v": pack_variants(line)})
    assert [(m.command, m.params) for m in local.take()] == [("KICK", ("#r", "local", "bye"))]
    assert "#r" not in server.state.channels and not local.client.channels


def test_private_message_and_kill_from_another_node() -> None:
    server, bus = _node()
    local = server.connect("local")
    line = build_variants("rem!~r@h", "PRIVMSG", ("local", "psst"), "2026-01-01T00:00:00.000Z")
    bus.on_node_event({"k": "p", "f": "local", "v": pack_variants(line)})
    assert [m.params for m in local.take()] == [("local", "psst")]
    bus.on_node_event({"k": "x", "f": "local", "t": "Killed (admin (bye))"})
    assert local.closed is not None and b"Killed (admin (bye))" in local.closed


def test_remote_nick_is_taken_locally_and_own_events_are_not_mirrored() -> None:
    server, bus = _node()
    bus.on_user_event({"k": "u", "f": "rem", "o": None, "i": _info("rem")})
    bus.on_user_event({"k": "u", "f": "mine", "o": None, "i": _info("mine", node="here")})
    conn = server.connect()
    out = conn.send("NICK REM", "USER x 0 * :x")
    assert [m.command for m in out] == ["433"]
    assert server.state.find_nick("mine") is None
    assert len(server.state.clients) == 1  # stand-ins are not connections (LUSERS, STATS l)


def test_inflight_delivers_what_redis_took_in_order_and_once() -> None:
    from tcp_server.cluster.inflight import InFlight

    delivered: list[str] = []
    inflight = InFlight()
    fallbacks = {k: inflight.track(("#c", k), lambda k=k: delivered.append(k)) for k in ("a", "b", "c", "d")}
    assert inflight.back(("#c", "a"))  # came back: delivered from Redis's copy
    assert not inflight.back(("#c", "a"))  # a second copy is not delivered again
    assert inflight.deliver_published(queued={("#c", "d")}) == 2  # taken, never back: b, c
    assert delivered == ["b", "c"]
    fallbacks["d"]()  # still queued when the link went down: its own fallback delivers it
    fallbacks["d"]()
    fallbacks["b"]()  # once only
    assert delivered == ["b", "c", "d"] and len(inflight) == 0
    assert not inflight.back(("#c", "c"))  # a late copy of a delivered event is dropped
