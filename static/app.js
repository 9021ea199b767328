// The chat page: wires the gateway connection, the model and the view together.
// Protocol: DESIGN.md "Browser JSON protocol (/ws)"; events are built in web_gateway/events.py.

import { GatewayConnection } from "./connection.js";
import { isRoom, parseInput, roomName } from "./slash.js";
import { Store, fold } from "./store.js";
import * as view from "./view.js";

const $ = (id) => document.getElementById(id);
const SAVED = "tcpchat.session"; // sessionStorage: nick and rooms, so a reload restores them
const HELLO_RETRIES = 8; // a page reconnecting may find its old nick still held for a moment
const HELLO_RETRY_MS = 1500;
const PENDING_TIMEOUT_MS = 15000; // own lines not echoed by then are marked as not delivered
const NICK_ERRORS = ["431", "432", "433", "436"];

const store = new Store();
const historyLimit = Number(document.body.dataset.history || 50);
let wantedNick = "";
let signedIn = false; // the user has been accepted once: reconnects restore silently
let freshSession = false; // hello accepted; rooms to (re)join once "connected" arrives
let helloRetries = 0;
let upstreamRetries = 0;
let roomsToRestore = [];
let upstreamLost = false; // the gateway said "reconnecting" and has not said "connected" since

const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const maxDelay = Number(document.body.dataset.reconnectMax || 15) * 1000;
const conn = new GatewayConnection(url, { onEvent, onOpen, onDown }, maxDelay);

// ---- persistence --------------------------------------------------------------------------

function save() {
  const rooms = store.rooms().filter((c) => c.joined).map((c) => c.name);
  sessionStorage.setItem(SAVED, JSON.stringify({ nick: store.nick || wantedNick, rooms }));
}

// ---- rendering helpers ----------------------------------------------------------------------

function renderAll() {
  const conv = store.activeConversation();
  view.renderRooms(store, select);
  view.renderHeader(conv);
  view.renderMessages(conv);
  view.renderMembers(conv);
  $("my-nick").textContent = store.nick;
}

function select(conv) {
  store.setActive(conv);
  renderAll();
  $("message-input").focus();
}

function addTo(conv, message) {
  conv.add(message);
  if (store.active === conv.key) {
    view.renderMessages(conv);
  } else if (!message.system) {
    conv.unread += 1;
    view.renderRooms(store, select);
  }
}

function system(conv, text, time) {
  conv.system(text, time);
  if (store.active === conv.key) view.renderMessages(conv);
}

// ---- connection lifecycle -----------------------------------------------------------------

function onOpen() {
  view.showStatus("", "ok");
  if (wantedNick) {
    freshSession = false;
    conn.send({ type: "hello", nick: store.nick || wantedNick });
  }
}

function onDown(waitMs) {
  if (signedIn || wantedNick) {
    view.showStatus(`Connection to the gateway lost; reconnecting in ${Math.ceil(waitMs / 1000)}s…`, "warn");
  }
}

function enterChat() {
  signedIn = true;
  $("login").hidden = true;
  $("chat").hidden = false;
  view.showError("login-error", "");
  renderAll();
  $("message-input").focus();
}

function restoreRooms() {
  const names = new Set(store.rooms().map((c) => c.name).concat(roomsToRestore));
  roomsToRestore = [];
  for (const name of names) conn.send({ type: "join", room: name });
}

// ---- events from the gateway ----------------------------------------------------------------

const handlers = {
  status(ev) {
    if (ev.nick) store.nick = ev.nick;
    if (ev.state === "connected") {
      helloRetries = 0;
      upstreamRetries = 0;
      view.showStatus("", "ok");
      if (!signedIn) enterChat();
      if (!freshSession) {
        freshSession = true; // a new upstream session: it is in no room yet
        restoreRooms();
      } else if (upstreamLost) {
        for (const conv of store.rooms()) system(conv, "Reconnected to the chat server.");
      }
      upstreamLost = false;
      $("my-nick").textContent = store.nick;
      save();
    } else if (ev.state === "reconnecting") {
      if (!upstreamLost) {
        upstreamLost = true;
        for (const conv of store.rooms()) system(conv, "Lost the chat server; reconnecting…");
      }
      view.showStatus(`Chat server connection lost (${ev.reason || "reconnecting"}); reconnecting…`, "warn");
    } else if (ev.state === "connecting") {
      if (signedIn) view.showStatus("Connecting to the chat server…", "info");
    } else if (ev.state === "closed" && signedIn && freshSession) {
      // The session ended for good (for example an operator disconnected us): do not come back
      // by ourselves; the user may sign in again and the rooms are restored.
      conn.close();
      signedIn = false;
      freshSession = false;
      roomsToRestore = store.rooms().map((c) => c.name);
      view.showStatus("", "ok");
      $("chat").hidden = true;
      $("login").hidden = false;
      $("login-button").disabled = false;
      view.showError("login-error", `Disconnected: ${ev.reason || "the chat server closed the connection"}`);
    }
  },

  error(ev) {
    const awaitingHello = !signedIn || !freshSession;
    if (awaitingHello && NICK_ERRORS.includes(ev.code)) {
      if (ev.code === "433" && helloRetries < HELLO_RETRIES) {
        // Coming back after a reload or a gateway restart: the old connection may hold the nick a moment.
        helloRetries += 1;
        setTimeout(() => conn.send({ type: "hello", nick: wantedNick }), HELLO_RETRY_MS);
        return;
      }
      signedIn = false;
      $("chat").hidden = true;
      $("login").hidden = false;
      view.showStatus("", "ok");
      view.showError("login-error", view.errorText(ev));
      $("login-button").disabled = false;
      $("nick-input").focus();
      return;
    }
    if (awaitingHello && signedIn && ev.code === "upstream") {
      // Back on the gateway but the chat server is away: keep trying, like the gateway does.
      const wait = Math.min(HELLO_RETRY_MS * 2 ** Math.min(upstreamRetries++, 4), maxDelay);
      view.showStatus(`The chat server is unreachable; retrying in ${Math.ceil(wait / 1000)}s…`, "warn");
      setTimeout(() => conn.send({ type: "hello", nick: wantedNick }), wait);
      return;
    }
    view.showError(signedIn ? "chat-error" : "login-error", view.errorText(ev));
    $("login-button").disabled = false;
  },

  message(ev) {
    const conv = ev.room ? store.get("room", ev.room, false) : store.get("dm", ev.nick);
    if (!conv || !conv.joined) return;
    if (ev.self && conv.confirm(ev)) {
      if (store.active === conv.key) view.renderMessages(conv);
      return;
    }
    addTo(conv, ev);
  },

  history(ev) {
    const conv = ev.room ? store.get("room", ev.room, false) : store.get("dm", ev.nick);
    if (!conv) return;
    const before = conv.messages.length;
    conv.merge(ev.messages, (m) => conv.confirm(m));
    if (olderAsked === conv.key) {
      olderAsked = null;
      if (conv.messages.length === before) conv.messages.unshift(noEarlier());
    }
    if (store.active === conv.key) view.renderMessages(conv);
  },

  join(ev) {
    const conv = store.get("room", ev.room);
    if (ev.self) {
      const wasJoined = conv.joined;
      conv.joined = true;
      if (!store.active || pendingOpen === fold(ev.room)) {
        pendingOpen = null;
        store.setActive(conv);
      }
      renderAll();
      if (!wasJoined) save();
      return;
    }
    conv.members.set(fold(ev.nick), { nick: ev.nick, modes: "" });
    system(conv, `${ev.nick} joined`);
    if (store.active === conv.key) view.renderMembers(conv);
  },

  part(ev) {
    const conv = store.get("room", ev.room, false);
    if (!conv) return;
    const why = ev.by ? `was kicked by ${ev.by}` : "left";
    if (ev.self) {
      if (ev.by) {
        conv.joined = false;
        system(conv, `You ${why}${ev.reason ? ` (${ev.reason})` : ""}`);
      } else {
        store.remove(conv);
      }
      renderAll();
      save();
      return;
    }
    conv.members.delete(fold(ev.nick));
    system(conv, `${ev.nick} ${why}${ev.reason ? ` (${ev.reason})` : ""}`);
    if (store.active === conv.key) view.renderMembers(conv);
  },

  quit(ev) {
    for (const conv of store.withMember(ev.nick)) {
      conv.members.delete(fold(ev.nick));
      system(conv, `${ev.nick} quit${ev.reason ? ` (${ev.reason})` : ""}`);
    }
    view.renderMembers(store.activeConversation());
  },

  nick(ev) {
    if (ev.self) {
      store.nick = ev.new;
      $("my-nick").textContent = ev.new;
      save();
    }
    for (const conv of store.withMember(ev.old)) {
      const member = conv.members.get(fold(ev.old));
      if (member) {
        conv.members.delete(fold(ev.old));
        conv.members.set(fold(ev.new), { nick: ev.new, modes: member.modes });
      }
      system(conv, `${ev.old} is now known as ${ev.new}`);
    }
    view.renderMembers(store.activeConversation());
  },

  names(ev) {
    const conv = store.get("room", ev.room, false);
    if (!conv) return;
    conv.members = new Map(ev.members.map((m) => [fold(m.nick), m]));
    if (store.active === conv.key) view.renderMembers(conv);
  },

  topic(ev) {
    const conv = store.get("room", ev.room, false);
    if (!conv) return;
    conv.topic = ev.text;
    if (ev.by) system(conv, `${ev.by} set the topic: ${ev.text}`);
    if (store.active === conv.key) view.renderHeader(conv);
  },
};

let olderAsked = null; // the room whose "Load earlier messages" request is outstanding

function noEarlier() {
  return { id: null, time: null, from: "", text: "No earlier messages.", kind: "system", system: true };
}

let pendingOpen = null; // folded room the user asked to join: open it when the join lands

function onEvent(ev) {
  const handler = handlers[ev.type];
  if (handler) handler(ev);
}

// ---- user input -----------------------------------------------------------------------------

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const nick = $("nick-input").value.trim();
  if (!nick) {
    view.showError("login-error", "Pick a nick first.");
    return;
  }
  const room = $("login-room").value.trim();
  wantedNick = nick;
  roomsToRestore = [...new Set([...roomsToRestore, ...(room ? [roomName(room)] : [])])];
  pendingOpen = room ? fold(roomName(room)) : null;
  view.showError("login-error", "");
  $("login-button").disabled = true;
  helloRetries = HELLO_RETRIES; // typed by the user: report 433 at once
  if (conn.isOpen) {
    freshSession = false;
    conn.send({ type: "hello", nick });
  } else {
    conn.open(); // onOpen sends hello
  }
});

$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("message-input");
  const conv = store.activeConversation();
  const result = parseInput(input.value, conv ? { type: conv.type, name: conv.name } : null);
  if (result.error !== undefined) {
    view.showError("chat-error", result.error || "");
    return;
  }
  if (!conn.send(result.command)) {
    view.showError("chat-error", "Not connected; your message was not sent.");
    return;
  }
  view.showError("chat-error", "");
  input.value = "";
  const cmd = result.command;
  if (result.local && result.local.open) pendingOpen = fold(result.local.open);
  if (cmd.type === "send") {
    const target = cmd.room ? store.get("room", cmd.room) : store.get("dm", cmd.nick);
    if (result.local && result.local.openDm) store.setActive(target);
    const line = { id: null, time: new Date().toISOString(), from: store.nick, text: cmd.text,
      kind: cmd.kind || "privmsg", self: true, pending: true };
    target.add(line);
    setTimeout(() => {
      if (line.pending) {
        line.failed = true; // not echoed: the server refused it or the connection is down
        if (store.active === target.key) view.renderMessages(target);
      }
    }, PENDING_TIMEOUT_MS);
    renderAll();
  }
});

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = $("join-input").value.trim();
  if (!value) return;
  const room = roomName(value);
  pendingOpen = fold(room);
  conn.send({ type: "join", room });
  $("join-input").value = "";
});

$("leave-button").addEventListener("click", () => {
  const conv = store.activeConversation();
  if (!conv) return;
  if (conv.type === "room" && conv.joined) {
    conn.send({ type: "part", room: conv.name });
  } else {
    store.remove(conv);
    renderAll();
    save();
  }
});

$("older-button").addEventListener("click", () => {
  const conv = store.activeConversation();
  if (!conv || conv.type !== "room") return;
  const oldest = conv.messages.find((m) => m.id && !m.system);
  const request = { type: "history", room: conv.name, limit: Math.min(historyLimit || 50, 200) };
  if (oldest) request.before = oldest.id;
  if (conn.send(request)) olderAsked = conv.key;
});

$("members-toggle").addEventListener("click", () => {
  const open = document.body.classList.toggle("members-open");
  $("members-toggle").setAttribute("aria-expanded", String(open));
});

// Keyboard: Alt+Up/Down switch conversations; Escape returns to the message box.
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    $("message-input").focus();
    return;
  }
  if (!e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
  const keys = [...store.conversations.keys()];
  if (!keys.length) return;
  const at = Math.max(0, keys.indexOf(store.active));
  const next = keys[(at + (e.key === "ArrowDown" ? 1 : keys.length - 1)) % keys.length];
  select(store.conversations.get(next));
  e.preventDefault();
});

// ---- start ------------------------------------------------------------------------------------

const saved = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(SAVED) || "null");
  } catch {
    return null; // unreadable: start from the login form
  }
})();
if (saved && saved.nick) {
  // A reload of a signed-in page: come back as the same nick in the same rooms.
  wantedNick = saved.nick;
  roomsToRestore = (saved.rooms || []).filter(isRoom);
  helloRetries = 0;
  $("nick-input").value = saved.nick;
  $("login-button").disabled = true;
  view.showStatus(`Signing you back in as ${saved.nick}…`, "info");
}
conn.open();
