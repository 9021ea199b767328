"""Full-screen mode through Textual's own pilot (headless), against the real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.widgets import OptionList, RichLog, Static

from tcp_client.session import ClientSession, SessionConfig
from tcp_client.tui import ChatApp, ChatInput

SIZE = (120, 36)


def make_app(port: int, nick: str = "alice", join: tuple[str, ...] = ("#lobby",)) -> ChatApp:
    session = ClientSession(SessionConfig("127.0.0.1", port, nick, backoff_initial=0.05, backoff_max=0.5))
    return ChatApp(session, list(join))


async def until(pilot, cond: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await pilot.pause(0.02)


def members(app: ChatApp, room: str) -> dict[str, str]:
    """Members of ``room`` as the app knows them (without creating the room)."""
    found = app.model.rooms.get(room.lower())
    return found.members if found else {}


def log_text(app: ChatApp) -> str:
    return "\n".join(strip.text for strip in app.query_one("#messages", RichLog).lines)


def room_labels(app: ChatApp) -> list[str]:
    rooms = app.query_one("#rooms", OptionList)
    return [str(rooms.get_option_at_index(i).prompt) for i in range(rooms.option_count)]


async def type_line(pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")


async def test_typing_a_message_shows_it_and_sends_it(server, connect):
    bob = await connect("bob")
    await bob.join("#lobby")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "bob" in members(app, "#lobby"))
        await type_line(pilot, "hello there")
        got = await bob.expect("PRIVMSG")
        assert got.params == ("#lobby", "hello there")
        await until(pilot, lambda: "<alice> hello there" in log_text(app))
        status = str(app.query_one("#status", Static).render())
        assert "alice" in status and "connected" in status and "#lobby" in status
        assert "@bob" in str(app.query_one("#members", Static).render())
        await type_line(pilot, "/quit bye")
        await bob.expect("QUIT")
    assert app.return_value == 0


async def test_messages_from_others_appear_and_unread_marks_update(server, connect):
    bob = await connect("bob")
    await bob.join("#lobby")
    await bob.join("#dev")
    app = make_app(server.port, join=("#lobby", "#dev"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "bob" in members(app, "#dev"))
        app.switch_to("#lobby")
        await pilot.pause()
        await bob.send("PRIVMSG #lobby :visible now")
        await until(pilot, lambda: "<bob> visible now" in log_text(app))
        await bob.send("PRIVMSG #dev :one", "PRIVMSG #dev :two, alice: look")
        await until(pilot, lambda: app.model.rooms["#dev"].unread == 2)
        assert "#dev (2!)" in room_labels(app)  # two unread, one mentions alice
        assert "two, alice" not in log_text(app)  # not shown in the room in view
        await pilot.press("ctrl+n")  # switch room
        await until(pilot, lambda: app.current == "#dev")
        assert app.model.room("#dev").unread == 0 and "#dev" in room_labels(app)
        assert "<bob> two, alice: look" in log_text(app)
        await type_line(pilot, "/join #lobby")
        await until(pilot, lambda: app.current == "#lobby")
        await type_line(pilot, "/part")
        await until(pilot, lambda: "#lobby (left)" in room_labels(app))
        await bob.expect("PART")


async def test_history_completion_and_private_rooms(server, connect):
    bob = await connect("bobby")
    await bob.join("#lobby")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "bobby" in members(app, "#lobby"))
        box = app.query_one(ChatInput)
        await pilot.press("b", "o", "tab")
        assert box.value == "bobby: "
        await pilot.press("h", "i", "enter")
        got = await bob.expect("PRIVMSG")
        assert got.params == ("#lobby", "bobby: hi")
        await pilot.press("/", "w", "h", "tab")
        assert box.value == "/whois "
        await pilot.press("ctrl+u")
        await pilot.press("up")
        assert box.value == "bobby: hi"
        await bob.send("PRIVMSG alice :psst")
        await until(pilot, lambda: "bobby (1!)" in room_labels(app))
        await pilot.press("down", "ctrl+u")
        await type_line(pilot, "/nosuch")
        await until(pilot, lambda: "unknown command /nosuch" in log_text(app))


async def test_reconnecting_is_shown_and_typed_input_is_kept(make_server):
    srv = await make_server()
    port = srv.port
    app = make_app(port)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "alice" in members(app, "#lobby") and app.model.state == "connected")
        await srv.shutdown()
        await until(pilot, lambda: "reconnecting…" in str(app.query_one("#status", Static).render()))
        await type_line(pilot, "typed while down")
        again = await make_server(port=port)
        await until(pilot, lambda: "<alice> typed while down" in log_text(app), timeout=15)
        assert app.model.state == "connected" and again.port == port


async def test_cannot_connect_exits_with_code_and_reason():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        app = make_app(sock.getsockname()[1])
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: bool(app.error))
    assert app.return_value == 1 and app.error.startswith("error: cannot connect")
