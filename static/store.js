// The page's model: conversations, members, unread and mention counts. DOM-free; messagelist.js and
// sidebar.js draw it.
//
// Rooms and private conversations are kept by casefolded name (rfc1459, as the server advertises).
// Messages are plain objects kept in time order; the renderer keys its DOM nodes by these objects,
// so a message is changed in place (a confirmed own line) and marked in `changed` for a redraw.

export const MAX_MESSAGES = 5000; // kept in memory per conversation (the document holds far fewer)
const TRIM_SLACK = 500; // trimmed in blocks, not one message per line once full
const RUN_GAP_MS = 10 * 60 * 1000; // a join/part run continues while events are this close

export function fold(name) {
  return name.toLowerCase().replace(/\[/g, "{").replace(/\]/g, "}").replace(/\\/g, "|").replace(/~/g, "^");
}

export function keyOf(type, name) {
  return `${type}:${fold(name)}`;
}

/** Whitespace does not survive the gateway's splitting of long text: compare without it. */
const squash = (text) => text.replace(/\s+/g, "");

let mentionNick = null;
let mentionPattern = null; // built once per nick, not once per message

/** True when `text` mentions `nick` as a whole word (case-insensitive). */
export function mentions(text, nick) {
  if (!nick || !text) return false;
  if (nick !== mentionNick) {
    const escaped = nick.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    mentionPattern = new RegExp(`(^|[^\\p{L}\\p{N}_\\-\\[\\]\\\\^{}|])${escaped}($|[^\\p{L}\\p{N}_\\-\\[\\]\\\\^{}|])`, "iu");
    mentionNick = nick;
  }
  return mentionPattern.test(text);
}

export class Conversation {
  constructor(type, name) {
    this.type = type; // "room" | "dm"
    this.name = name;
    this.key = keyOf(type, name);
    this.messages = []; // {id, time, from, text, kind, self, pending, failed, system, mention, events}
    this.ids = new Set();
    this.changed = new Set(); // messages changed in place since the last frame
    this.members = new Map(); // folded nick -> {nick, modes}
    this.topic = "";
    this.unread = 0;
    this.mentions = 0;
    this.joined = type === "dm";
    this.hasEarlier = false; // true while the server may hold older lines (its last page came full)
    this.firstUnread = null; // where the "New messages" rule goes while the conversation is open
  }

  /** The user looks at the conversation: the rule goes above the first line they had not seen. */
  markRead() {
    this.firstUnread = null;
    let left = this.unread;
    for (let i = this.messages.length - 1; i >= 0 && left > 0; i--) {
      const m = this.messages[i];
      if (!m.system && !m.self && --left === 0) this.firstUnread = m;
    }
    this.unread = 0;
    this.mentions = 0;
  }

  /** No "New messages" rule any more (the user left the conversation or wrote in it). */
  clearRule() {
    if (this.firstUnread) this.changed.add(this.firstUnread);
    this.firstUnread = null;
  }

  rename(name) {
    this.name = name;
    this.key = keyOf(this.type, name);
  }

  /** Add a message in time order, dropping ones already seen (history overlaps live traffic).
   * The common case (newest so far) is an append; an older one walks back a few places.
   * A `live` line is appended: it arrived after everything shown, and the joins and parts
   * around it carry this browser's clock, not the server's, so times cannot order them. */
  add(message, live = false) {
    if (message.id) {
      if (this.ids.has(message.id)) return false;
      this.ids.add(message.id);
    }
    const list = this.messages;
    let i = list.length;
    if (message.time && !live) {
      while (i > 0 && list[i - 1].time > message.time && !list[i - 1].pending) i--;
    }
    if (i === list.length) list.push(message);
    else list.splice(i, 0, message);
    this.trim();
    return true;
  }

  trim() {
    const list = this.messages;
    if (list.length <= MAX_MESSAGES + TRIM_SLACK) return;
    const dropped = list.splice(0, list.length - MAX_MESSAGES);
    for (const m of dropped) if (m.id) this.ids.delete(m.id);
    this.hasEarlier = true;
  }

  /** Merge a history batch (oldest first). A page older than what we have goes in as one block
   * before it (lines with equal times keep the server's order); otherwise each line finds its place. */
  merge(batch, confirmOwn) {
    const fresh = batch.filter((m) => !(m.id && this.ids.has(m.id)) && !(m.self && confirmOwn(m)));
    if (!fresh.length) return 0;
    const anchor = this.messages.findIndex((m) => m.id && !m.system && !m.pending);
    const lastTime = fresh[fresh.length - 1].time;
    if (anchor < 0 ? !this.messages.length : lastTime && lastTime <= this.messages[anchor].time) {
      for (const m of fresh) if (m.id) this.ids.add(m.id);
      this.messages.splice(Math.max(anchor, 0), 0, ...fresh);
      this.trim();
      return fresh.length;
    }
    let added = 0;
    for (const m of fresh) if (this.add(m)) added++;
    return added;
  }

  /** Our own line came back from the server. A long text comes back in several pieces (the
   * gateway splits it): each piece uses up the start of the oldest pending line it matches, and
   * the line is confirmed when all of it came back. Returns the line, or null if none matched. */
  confirm(event) {
    const piece = squash(event.text);
    const message = this.messages.find(
      (m) => m.pending && m.kind === event.kind && m.rest.startsWith(piece) && (piece || !m.rest),
    );
    if (!message) return null;
    message.rest = message.rest.slice(piece.length);
    if (event.id) {
      this.ids.add(event.id);
      message.id = message.id || event.id;
    }
    if (!message.rest) {
      Object.assign(message, { pending: false, failed: false, time: event.time || message.time });
    }
    this.changed.add(message);
    return message;
  }

  /** The message with server id `id` if it is loaded (searched from the newest: replies and
   * reactions are mostly about recent lines). */
  byId(id) {
    if (!id || !this.ids.has(id)) return null;
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].id === id) return this.messages[i];
    return null;
  }

  /** A line we just sent, shown dimmed until the server echoes it (see confirm). */
  addPending(from, text, kind) {
    const line = { id: null, time: new Date().toISOString(), from, text, kind, self: true,
      pending: true, rest: squash(text) };
    this.messages.push(line);
    this.trim();
    return line;
  }

  fail(message) {
    message.failed = true;
    this.changed.add(message);
  }

  drop(message) {
    const i = this.messages.indexOf(message);
    if (i >= 0) this.messages.splice(i, 1);
  }

  /** A note from the page (kicked, reconnected...): it happens now, so it goes last. */
  system(text, time) {
    this.add({ id: null, time: time || new Date().toISOString(), from: "", text, kind: "system", system: true }, !time);
  }

  /** Joins, parts, quits and nick changes fold into one line while they follow each other. */
  event(type, nick, detail) {
    const time = new Date().toISOString();
    const last = this.messages[this.messages.length - 1];
    const entry = { type, nick, detail };
    if (last && last.kind === "events" && Date.parse(time) - Date.parse(last.time) < RUN_GAP_MS) {
      last.events.push(entry);
      last.time = time;
      this.changed.add(last);
      return;
    }
    this.add({ id: null, time, from: "", text: "", kind: "events", system: true, events: [entry] }, true);
  }

  sortedMembers() {
    const rank = (m) => (m.modes.includes("@") ? 0 : m.modes.includes("+") ? 1 : 2);
    return [...this.members.values()].sort(
      (a, b) => rank(a) - rank(b) || fold(a.nick).localeCompare(fold(b.nick)),
    );
  }
}

export class Store {
  constructor() {
    this.nick = "";
    this.conversations = new Map();
    this.active = null;
    this.muted = () => false; // (conv) => true when muted; the app hands in notify.js's answer
  }

  get(type, name, create = true) {
    const key = keyOf(type, name);
    let conv = this.conversations.get(key);
    if (!conv && create) {
      conv = new Conversation(type, name);
      this.conversations.set(key, conv);
    }
    return conv || null;
  }

  remove(conv) {
    this.conversations.delete(conv.key);
    if (this.active === conv.key) {
      const next = this.conversations.keys().next();
      this.active = next.done ? null : next.value;
    }
  }

  /** The other person of a private conversation changed nick: the conversation follows. */
  renameDm(oldNick, newNick) {
    const conv = this.get("dm", oldNick, false);
    if (!conv || this.get("dm", newNick, false)) return null;
    const wasActive = this.active === conv.key;
    this.conversations.delete(conv.key);
    conv.rename(newNick);
    this.conversations.set(conv.key, conv);
    if (wasActive) this.active = conv.key;
    return conv;
  }

  activeConversation() {
    return this.active ? this.conversations.get(this.active) || null : null;
  }

  setActive(conv) {
    const previous = this.activeConversation();
    if (previous && previous !== conv) previous.clearRule();
    this.active = conv ? conv.key : null;
    if (conv) conv.markRead();
  }

  rooms() {
    return [...this.conversations.values()].filter((c) => c.type === "room");
  }

  dms() {
    return [...this.conversations.values()].filter((c) => c.type === "dm");
  }

  /** Rooms first, then private conversations: the order of the sidebar and of Alt+Up/Down. */
  ordered() {
    return [...this.rooms(), ...this.dms()];
  }

  isMe(nick) {
    return fold(nick) === fold(this.nick);
  }

  totalUnread() {
    let n = 0;
    for (const c of this.conversations.values()) n += c.unread;
    return n;
  }

  /** Every conversation the nick appears in (for quits and nick changes). */
  withMember(nick) {
    const f = fold(nick);
    return [...this.conversations.values()].filter((c) => c.members.has(f) || (c.type === "dm" && fold(c.name) === f));
  }
}
