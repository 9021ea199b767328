"""Full-screen mode (Textual): rooms with unread marks, messages, members, input, status line.

The screen is a view of ``ChatModel``; every keystroke that sends something goes through the same
``handle_input`` as line mode. While the session reconnects, typed lines are queued by the session
and sent after the rejoin, so nothing typed is lost.
"""

from __future__ import annotations

import sys

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from tcp_server.protocol import casefold

from .events import Event, SessionStatus
from .model import CHAT_KINDS, SERVER_ROOM, ChatModel, Line, Room
from .plain import EXIT_CONNECT, EXIT_OK, EXIT_REFUSED
from .registration import RegistrationError
from .session import ClientSession
from .slash import COMMANDS, DEFAULT_MAX_INPUT_BYTES, handle_input

INPUT_HISTORY = 200
"""Input lines remembered for up/down recall."""


class ChatInput(Input):
    """The input line: up/down recall history, tab completes commands, nicks and rooms."""

    BINDINGS = [
        Binding("tab", "complete", "complete", show=False, priority=True),
        Binding("up", "recall(-1)", "previous", show=False),
        Binding("down", "recall(1)", "next", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []
        self._recall = 0
        self._cycle: tuple[str, list[str], int, str, int] | None = None  # stem, found, i, value, start

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-INPUT_HISTORY]
        self._recall = len(self.history)

    def action_recall(self, step: int) -> None:
        if not self.history:
            return
        self._recall = max(0, min(len(self.history), self._recall + step))
        self.value = self.history[self._recall] if self._recall < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        head, tail = self.value[: self.cursor_position], self.value[self.cursor_position :]
        if self._cycle and self._cycle[3] == self.value:  # tab again: the next candidate
            stem, found, index, _, start = self._cycle
            index = (index + 1) % len(found)
        else:
            start = head.rfind(" ") + 1
            stem = head[start:]
            found, index = self.app.completions(stem, at_start=start == 0), 0  # type: ignore[attr-defined]
        if not found:
            self._cycle = None
            return
        choice = found[index]
        suffix = ": " if start == 0 and not choice.startswith(("/", "#", "&")) else " "
        self.value = head[:start] + choice + suffix + tail.lstrip(" ")
        self.cursor_position = start + len(choice) + len(suffix)
        self._cycle = (stem, found, index, self.value, start)


class ChatApp(App[int]):
    """The terminal chat client."""

    TITLE = "tcpchat"
    CSS = """
    #status { height: 1; background: $primary; color: $text; padding: 0 1; }
    #rooms { width: 22; border-right: solid $primary; }
    #messages { width: 1fr; }
    #members { width: 20; border-left: solid $primary; padding: 0 1; }
    ChatInput { dock: bottom; }
    """
    BINDINGS = [
        Binding("ctrl+n", "room(1)", "next room", priority=True),
        Binding("ctrl+p", "room(-1)", "previous room", priority=True),
        Binding("ctrl+q", "quit", "quit", priority=True),
    ]

    def __init__(
        self, session: ClientSession, join: list[str], max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    ) -> None:
        super().__init__()
        self.session = session
        self.join_rooms = join
        self.max_input_bytes = max_input_bytes
        self.model = ChatModel(session.nick)
        self.current = SERVER_ROOM  # casefolded key of the room in view
        self.error = ""  # why the app ended, printed after the screen closes
        self._shown: dict[str, object] = {}  # what the panes show now (skip identical redraws)

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal():
            yield OptionList(id="rooms")
            yield RichLog(id="messages", wrap=True, markup=False, min_width=20)
            yield Static(id="members")
        yield ChatInput(placeholder="type a message, or /help", id="input")

    def on_mount(self) -> None:
        self.query_one(ChatInput).focus()
        self._refresh_panes()
        self.run_worker(self._run_session(), name="session", exclusive=True)

    async def _run_session(self) -> None:
        where = f"{self.session.host}:{self.session.port}"
        try:
            await self.session.start()
        except RegistrationError as exc:
            self.error = f"error: {where} refused registration: {exc}"
            self.exit(EXIT_REFUSED)
            return
        except OSError as exc:
            self.error = f"error: cannot connect to {where}: {exc or type(exc).__name__}"
            self.exit(EXIT_CONNECT)
            return
        for room in self.join_rooms:
            await self.session.join(room)
        if self.join_rooms:
            self.switch_to(self.join_rooms[0])
        async for event in self.session.events():
            self.on_session_event(event)

    # ---- model -> screen -----------------------------------------------------------
    def on_session_event(self, event: Event) -> None:
        for line in self.model.apply(event):
            key = casefold(line.room) if line.room else self.current
            room = self.model.rooms.get(key) or self.model.room(line.room)
            if not line.room:
                room.lines.append(line)
            if key == self.current:
                self._write(line)
            elif line.kind in CHAT_KINDS and not line.own and not line.history:
                room.unread += 1
                room.mentioned = room.mentioned or line.mention or not room.is_channel
        if isinstance(event, SessionStatus) and event.state == "closed" and not self.error:
            self.error = f"disconnected: {event.reason}"
        self._refresh_panes()

    def _render_line(self, line: Line) -> Text:
        text = Text(line.time + " ", style="dim")
        nick_style = "bold green" if line.own else "bold cyan"
        if line.kind == "msg":
            text.append(f"<{line.nick}> ", style=nick_style)
        elif line.kind == "action":
            text.append(f"* {line.nick} ", style=nick_style)
        elif line.kind == "notice":
            text.append(f"-{line.nick}- ", style="bold magenta")
        elif line.kind == "error":
            text.append("! ", style="bold red")
        elif line.kind not in CHAT_KINDS:
            text.append("-- ", style="dim")
        text.append(line.text, style="bold yellow" if line.mention else ("dim" if line.history else ""))
        if line.mention:
            text.stylize("on dark_red")
        return text

    def _write(self, line: Line) -> None:
        self.query_one("#messages", RichLog).write(self._render_line(line))

    def room_label(self, room: Room) -> str:
        """The room list entry: name plus unread count, ``!`` when you were mentioned."""
        name = room.name if room.name != SERVER_ROOM else self.session.host
        if room.is_channel and not room.joined:
            name += " (left)"
        if room.unread:
            return f"{name} ({room.unread}{'!' if room.mentioned else ''})"
        return name

    def _refresh_panes(self) -> None:
        """Redraw the room list, members and status line -- only the parts that changed."""
        keys = list(self.model.rooms)
        labels = [(k, self.room_label(self.model.rooms[k])) for k in keys]
        if labels != self._shown.get("rooms"):
            self._shown["rooms"] = labels
            rooms = self.query_one("#rooms", OptionList)
            rooms.clear_options()
            rooms.add_options([Option(label, id=k) for k, label in labels])
            if self.current in keys:
                rooms.highlighted = keys.index(self.current)
        room = self.model.rooms[self.current]
        members = "\n".join(sorted(room.members.values(), key=lambda n: casefold(n.lstrip("@+"))))
        if members != self._shown.get("members"):
            self._shown["members"] = members
            self.query_one("#members", Static).update(members)
        state = {"reconnecting": "reconnecting…"}.get(self.model.state, self.model.state)
        topic = f" · {room.topic}" if room.topic else ""
        status = f"{self.session.host}:{self.session.port} · {self.model.nick} · {state} · {room.name}{topic}"
        if status != self._shown.get("status"):
            self._shown["status"] = status
            self.query_one("#status", Static).update(status)

    def switch_to(self, name: str) -> None:
        """Show room ``name`` (created if new) and clear its unread marks."""
        room = self.model.room(name)
        self.current = casefold(room.name)
        room.unread, room.mentioned = 0, False
        self._shown.pop("rooms", None)  # redraw the list so the highlight follows
        log = self.query_one("#messages", RichLog)
        log.clear()
        for line in room.lines:
            log.write(self._render_line(line))
        self._refresh_panes()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and event.option.id != self.current:
            self.switch_to(self.model.rooms[event.option.id].name)
            self.query_one(ChatInput).focus()

    def action_room(self, step: int) -> None:
        keys = list(self.model.rooms)
        index = (keys.index(self.current) + step) % len(keys) if self.current in keys else 0
        self.switch_to(self.model.rooms[keys[index]].name)

    def completions(self, word: str, at_start: bool) -> list[str]:
        """Tab candidates for ``word``: commands at the start, else nicks and rooms."""
        if at_start and word.startswith("/"):
            return [c for c in COMMANDS if c.startswith(word.lower())]
        folded = casefold(word)
        if word.startswith(("#", "&")):
            pool = [r.name for r in self.model.rooms.values() if r.is_channel]
        else:
            pool = [n.lstrip("@+") for n in self.model.rooms[self.current].members.values()]
        return sorted((p for p in pool if casefold(p).startswith(folded)), key=casefold)

    # ---- input -------------------------------------------------------------------------
    async def on_input_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one(ChatInput)
        text = event.value
        box.remember(text)
        box.value = ""
        room = self.model.rooms[self.current].name
        result = await handle_input(self.session, self.model, room, text, self.max_input_bytes)
        for line in result.lines:
            if not line.room:
                self.model.room(room).lines.append(line)
            self._write(line)
        if result.switch:
            self.switch_to(result.switch)
        if result.quit is not None:
            await self._leave(result.quit)

    async def action_quit(self) -> None:
        await self._leave("Leaving")

    async def _leave(self, reason: str) -> None:
        lost = self.session.closed and bool(self.error)  # it had ended by itself before
        if not lost:
            self.error = ""
        await self.session.close(reason)
        self.exit(EXIT_CONNECT if lost else EXIT_OK)


def run_tui(session: ClientSession, join: list[str], max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> int:
    """Run the full-screen client; return the exit code (errors are printed after the screen closes)."""
    app = ChatApp(session, join, max_input_bytes)
    code = app.run()
    if app.error and code != EXIT_OK:
        print(app.error, file=sys.stderr)
    if code is None:  # the session ended by itself
        code = EXIT_CONNECT if app.error else EXIT_OK
    return code
