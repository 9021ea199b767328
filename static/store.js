// The page's model: conversations, members, unread counts. DOM-free; app.js renders it.
//
// Rooms and private conversations are kept by casefolded name (rfc1459, as the server advertises).

const MAX_MESSAGES = 500;

export function fold(name) {
  return name.toLowerCase().replace(/\[/g, "{").replace(/\]/g, "}").replace(/\\/g, "|").replace(/~/g, "^");
}

export function keyOf(type, name) {
  return `${type}:${fold(name)}`;
}

export class Conversation {
  constructor(type, name) {
    this.type = type; // "room" | "dm"
    this.name = name;
    this.key = keyOf(type, name);
    this.messages = []; // {id, time, from, text, kind, self, pending, system}
    this.ids = new Set();
    this.members = new Map(); // folded nick -> {nick, modes}
    this.topic = "";
    this.unread = 0;
    this.joined = type === "dm";
  }

  /** Add a message in time order, dropping ones already seen (history overlaps live traffic). */
  add(message) {
    if (message.id) {
      if (this.ids.has(message.id)) return false;
      this.ids.add(message.id);
    }
    const list = this.messages;
    let i = list.length;
    if (message.time) {
      while (i > 0 && list[i - 1].time && list[i - 1].time > message.time && !list[i - 1].pending) i--;
    }
    list.splice(i, 0, message);
    if (list.length > MAX_MESSAGES) {
      const dropped = list.splice(0, list.length - MAX_MESSAGES);
      for (const m of dropped) if (m.id) this.ids.delete(m.id);
    }
    return i === list.length - 1;
  }

  /** Merge a history batch (oldest first). An older page goes in as a block before the oldest
   * message we have, so lines with equal timestamps keep the server's order. */
  merge(batch, confirmOwn) {
    const fresh = batch.filter((m) => !(m.id && this.ids.has(m.id)) && !(m.self && confirmOwn(m)));
    if (!fresh.length) return;
    const anchor = this.messages.findIndex((m) => m.id && !m.system && !m.pending);
    const lastTime = fresh[fresh.length - 1].time;
    if (anchor >= 0 && lastTime && lastTime <= this.messages[anchor].time) {
      for (const m of fresh) if (m.id) this.ids.add(m.id);
      this.messages.splice(anchor, 0, ...fresh);
      return;
    }
    for (const m of fresh) this.add(m);
  }

  /** Our own line came back from the server: the oldest matching pending line is confirmed. */
  confirm(event) {
    const i = this.messages.findIndex((m) => m.pending && m.kind === event.kind && m.text === event.text);
    if (i < 0) return null;
    const message = this.messages[i];
    Object.assign(message, { pending: false, failed: false, id: event.id, time: event.time });
    if (event.id) this.ids.add(event.id);
    return message;
  }

  system(text, time) {
    this.add({ id: null, time: time || new Date().toISOString(), from: "", text, kind: "system", system: true });
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

  activeConversation() {
    return this.active ? this.conversations.get(this.active) || null : null;
  }

  setActive(conv) {
    this.active = conv ? conv.key : null;
    if (conv) conv.unread = 0;
  }

  rooms() {
    return [...this.conversations.values()].filter((c) => c.type === "room");
  }

  isMe(nick) {
    return fold(nick) === fold(this.nick);
  }

  /** Every conversation the nick appears in (for quits and nick changes). */
  withMember(nick) {
    const f = fold(nick);
    return [...this.conversations.values()].filter((c) => c.members.has(f) || (c.type === "dm" && fold(c.name) === f));
  }
}
