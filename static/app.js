// The chat page: wires the gateway connection, the model and the view together.
// Protocol: DESIGN.md "Browser JSON protocol (/ws)"; events are built in web_gateway/events.py.
//
// Events change the model and note what changed; one frame later render() draws it (messages of
// the conversation in view, counters of the others): a burst of events costs one paint per frame.

import { accountHandlers, helloFrame, needsPasswordAgain, setupAccount } from "./account.js";
import { Composer } from "./composer.js";
import { GatewayConnection } from "./connection.js";
import { chatHandlers } from "./handlers.js";
import { MessageList, frameScheduler } from "./messagelist.js";
import { sessionHandlers, signIn } from "./session.js";
import * as ui from "./sidebar.js";
import { isRoom, parseInput, roomName, tooLong } from "./slash.js";
import { Store, fold } from "./store.js";
import { closeDrawers, setupChrome } from "./chrome.js";
import { Notifier } from "./notify.js";
import { setupActions } from "./actions.js";
import { extraHandlers } from "./extras.js";
import { setupJump } from "./jump.js";
import { setupSearch } from "./search.js";
import { Typing } from "./typing.js";

const $ = (id) => document.getElementById(id);
const SAVED = "tcpchat.session"; // sessionStorage: nick and rooms, so a reload restores them
const PENDING_TIMEOUT_MS = 15000; // own lines not echoed by then are marked as not delivered
const data = document.body.dataset;

const store = new Store();
const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const page = {
  store,
  historyLimit: Number(data.history || 50),
  olderLimit: Math.min(Number(data.history || 50) || 50, 200),
  limits: { lines: Number(data.maxLines || 10), bytes: Number(data.lineBytes || 350) },
  maxDelay: Number(data.reconnectMax || 15) * 1000,
  olderAsked: null, // the room whose "Load earlier messages" request is outstanding
  pendingOpen: null, // folded room the user asked to join: open it when the join lands
  lastSend: null, // {conv, line, text}: put back in the box if the gateway refuses it
  replyTo: null, // {key, id, from, text}: the next line sent in that conversation answers it
  pendingJump: null, // {key, msgid}: a linked message to show once its room's history came
  session: { wantedNick: "", signedIn: false, freshSession: false, helloRetries: 0, upstreamRetries: 0,
    roomsToRestore: [], upstreamLost: false },
  dirty: { messages: false, header: false, members: false, sidebar: true, me: false },
};
const schedule = frameScheduler(render);
const redrawList = () => {
  page.dirty.messages = true; // the user scrolled to an edge of the window: move it
  schedule();
};
page.list = new MessageList($("messages"), redrawList, (state) => {
  ui.renderOlder(store.activeConversation(), state.atTop);
  $("jump-button").hidden = state.newer === 0 && page.list.following;
  $("jump-button").textContent = state.newer ? `${state.newer} newer messages ↓` : "Jump to latest ↓";
});
page.sidebar = new ui.Sidebar((conv) => select(conv, true));
page.notifier = new Notifier((key) => select(store.conversations.get(key) || null, true));
store.muted = (conv) => page.notifier.isMuted(conv);
page.conn = new GatewayConnection(url, { onEvent, onOpen, onDown }, page.maxDelay);
page.typing = new Typing(page);
let flashTimer = null;
/** A short note in the status banner (link copied, message not found). */
page.flash = (text) => {
  ui.showStatus(text, "info");
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => ui.showStatus("", "ok"), 4000);
};

/** Note what an event changed, drawn at the next frame: the lines, header and members only of
 * the conversation in view; the sidebar's counters always (it rebuilds its lists only when they
 * change shape). `what`: {header, members, me, all}. */
page.changed = (conv, what = {}) => {
  const d = page.dirty;
  if (what.all) Object.assign(d, { messages: true, header: true, members: true, me: true });
  const open = Boolean(conv) && conv.key === store.active;
  if (open) d.messages = true;
  if (open && what.header) d.header = true;
  if (open && what.members) d.members = true;
  if (what.me) d.me = true;
  d.sidebar = true;
  schedule();
};

page.select = select;
page.save = () => {
  const rooms = store.rooms().filter((c) => c.joined).map((c) => c.name);
  sessionStorage.setItem(SAVED, JSON.stringify({ nick: store.nick || page.session.wantedNick, rooms }));
};

function render() {
  const d = page.dirty;
  const conv = store.activeConversation();
  if (d.messages) page.list.render();
  if (d.header) ui.renderHeader(conv, Boolean(conv && store.muted(conv)));
  // In no room (and none on its way): not a blank page but how to get into one.
  if (d.header) $("no-room").hidden = Boolean(conv) || Boolean(page.pendingOpen);
  if (d.members) ui.renderMembers(conv, openPrivate, (nick) => store.isMe(nick));
  if (d.sidebar) page.sidebar.render(store);
  if (d.me) $("my-nick").textContent = store.nick;
  page.dirty = { messages: false, header: false, members: false, sidebar: false, me: false };
}

/** Open (or start) the private conversation with `nick`: a click on a member. */
function openPrivate(nick) {
  const conv = store.get("dm", nick);
  if (!conv.messages.length) conv.system(`A private conversation: only you and ${nick} see what is written here.`);
  select(conv, true);
  page.save();
}

function select(conv, byUser = false) {
  if (page.replyTo && (!conv || page.replyTo.key !== conv.key)) page.cancelReply();
  if (store.active !== (conv && conv.key)) $("member-filter").value = ""; // another room: everyone again
  store.setActive(conv);
  page.list.show(conv);
  page.changed(null, { all: true });
  page.typing.render();
  page.searchFor(conv);
  if (byUser) {
    closeDrawers();
    $("message-input").focus();
  }
}

// ---- connection ---------------------------------------------------------------------------

const baseHandlers = { ...sessionHandlers(page), ...chatHandlers(page), ...extraHandlers(page) };
const handlers = { ...baseHandlers, ...accountHandlers(page, baseHandlers) };

function onEvent(ev) {
  const handler = handlers[ev.type];
  if (handler) handler(ev);
  if (ev.type === "status" && ev.state === "connected") page.openLink(); // a #msg= link (jump.js)
}

function onOpen() {
  ui.showStatus("", "ok");
  if (page.session.wantedNick) {
    page.session.freshSession = false;
    page.conn.send(helloFrame(page, store.nick || page.session.wantedNick));
  }
}

function onDown(waitMs) {
  if (page.session.signedIn || page.session.wantedNick) {
    ui.showStatus(`Connection to the gateway lost; reconnecting in ${Math.ceil(waitMs / 1000)}s…`, "warn");
  }
}

// ---- sending ------------------------------------------------------------------------------

/** The gateway refused the last line (too long): it goes back in the box, not lost. */
page.sendRefused = () => {
  const last = page.lastSend;
  page.lastSend = null;
  if (!last || !last.line.pending) return; // the refusal is about something else
  last.conv.drop(last.line);
  if (store.active === last.conv.key) page.list.show(last.conv);
  if (!composer.input.value) composer.set(last.text);
  page.changed(last.conv);
};

function submit() {
  const input = $("message-input");
  const conv = store.activeConversation();
  const typed = input.value;
  const result = parseInput(typed, conv ? { type: conv.type, name: conv.name } : null);
  if (result.error !== undefined) {
    ui.showError("chat-error", result.error || "");
    return;
  }
  const cmd = result.command;
  const here = cmd.type === "send" && conv && (cmd.room || cmd.nick) === conv.name;
  const reply = here && page.replyTo && page.replyTo.key === conv.key ? page.replyTo.id : null;
  if (reply) cmd.reply = reply;
  if (cmd.type === "send" && tooLong(cmd.text, page.limits)) {
    ui.showError("chat-error", `That is more than ${page.limits.lines} lines once split; shorten it (it is still in the box).`);
    return;
  }
  if (!page.conn.send(cmd)) {
    ui.showError("chat-error", "Not connected; your message was not sent.");
    return;
  }
  ui.showError("chat-error", "");
  page.lastSend = null; // a refusal from now on is about this command
  composer.remember(typed.replace(/\s+$/, ""));
  composer.set("");
  if (result.local && result.local.open) page.pendingOpen = fold(result.local.open);
  if (cmd.type !== "send") return;
  const target = cmd.room ? store.get("room", cmd.room) : store.get("dm", cmd.nick);
  if (result.local && result.local.openDm) select(target);
  target.clearRule(); // writing in a conversation means it has been read
  const line = target.addPending(store.nick, cmd.text, cmd.kind || "privmsg");
  if (reply) {
    line.reply = reply; // shown quoted at once
    page.cancelReply();
  }
  page.typing.sent();
  page.lastSend = { conv: target, line, text: typed };
  page.list.jumpToLatest();
  setTimeout(() => {
    if (line.pending) {
      target.fail(line); // not echoed: the server refused it or the connection is down
      page.changed(target);
    }
  }, PENDING_TIMEOUT_MS);
  page.changed(target);
}

const composer = new Composer($("message-input"), {
  submit,
  key: () => store.active || "",
  candidates: () => {
    const conv = store.activeConversation();
    const nicks = conv ? [...conv.members.values()].map((m) => m.nick) : [];
    if (conv && conv.type === "dm") nicks.push(conv.name);
    return { nicks: nicks.filter((n) => !store.isMe(n)), rooms: store.rooms().map((c) => c.name) };
  },
});

$("message-input").addEventListener("input", () => {
  page.typing.input(store.activeConversation(), $("message-input").value);
});

$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submit();
});

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  page.credentials = null; // "Continue as guest"; account.js handles "Sign in" and "Create account"
  const room = $("login-room").value.trim();
  if (signIn(page, $("nick-input").value.trim(), room ? roomName(room) : "")) {
    page.pendingOpen = room ? fold(roomName(room)) : null;
  }
});

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = $("join-input").value.trim();
  if (!value) return;
  const room = roomName(value);
  page.pendingOpen = fold(room);
  page.conn.send({ type: "join", room });
  $("join-input").value = "";
});

$("leave-button").addEventListener("click", () => {
  const conv = store.activeConversation();
  if (!conv) return;
  if (conv.type === "room" && conv.joined) {
    page.conn.send({ type: "part", room: conv.name });
  } else {
    store.remove(conv);
    select(store.activeConversation());
    page.save();
  }
});

function loadOlder() {
  const conv = store.activeConversation();
  if (!conv || conv.type !== "room" || !conv.hasEarlier || page.olderAsked) return;
  const oldest = conv.messages.find((m) => m.id && !m.system);
  const request = { type: "history", room: conv.name, limit: page.olderLimit };
  if (oldest) request.before = oldest.id;
  if (page.conn.send(request)) page.olderAsked = conv.key;
}

$("older-button").addEventListener("click", loadOlder);
page.list.onTop = loadOlder; // scrolling up past the oldest line fetches more, like the button
setupActions(page);
setupJump(page, loadOlder);
setupSearch(page);

$("jump-button").addEventListener("click", () => page.list.jumpToLatest());
$("member-filter").addEventListener("input", () => page.changed(store.activeConversation(), { members: true }));

$("mute-button").addEventListener("click", () => {
  const conv = store.activeConversation();
  if (!conv) return;
  page.notifier.toggleMute(conv);
  page.changed(conv, { header: true });
});

document.addEventListener("visibilitychange", () => {
  const conv = store.activeConversation();
  if (!document.hidden && conv && (conv.unread || conv.mentions)) {
    store.setActive(conv);
    page.changed(conv);
  }
});

setupChrome(page);
setupAccount(page, signIn, (room) => (room ? roomName(room) : ""));
window.__tcpchat = { store }; // the model, for tests and bench/page_burst.py to count lines in

// ---- start ------------------------------------------------------------------------------------

const saved = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(SAVED) || "null");
  } catch {
    return null; // unreadable: start from the login form
  }
})();
if (saved && saved.nick && !needsPasswordAgain(page, saved)) {
  // A reload of a signed-in page: come back as the same nick in the same rooms.
  page.session.wantedNick = saved.nick;
  page.session.roomsToRestore = (saved.rooms || []).filter(isRoom);
  $("nick-input").value = saved.nick;
  $("login-button").disabled = true;
  ui.showStatus(`Signing you back in as ${saved.nick}…`, "info");
}
page.conn.open();
