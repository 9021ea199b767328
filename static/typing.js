// Typing notifications (IRCv3 +typing): ours are sent while the box has text, at most every
// SEND_EVERY_MS ("done" when the box is emptied); others' are shown as "alice is typing…" under
// the messages until they send, stop, or SHOWN_MS pass without a new "active".

import { fold } from "./store.js";
import { destination } from "./actions.js";

const $ = (id) => document.getElementById(id);
export const SEND_EVERY_MS = 3000; // the spec's lower bound between two "active" notifications
export const SHOWN_MS = 6000; // an "active" not repeated within this is forgotten

export class Typing {
  constructor(page) {
    this.page = page;
    this.sentKey = null; // the conversation we last said "active" in
    this.sentAt = 0;
    this.timer = null;
  }

  /** The box changed: tell the conversation we are typing (or stopped). */
  input(conv, text) {
    if (!conv || (conv.type === "room" && !conv.joined)) return;
    const typing = text.trim() !== "" && !text.startsWith("/");
    const now = Date.now();
    if (typing && (this.sentKey !== conv.key || now - this.sentAt >= SEND_EVERY_MS)) {
      if (this.sentKey && this.sentKey !== conv.key) this.stop();
      if (this.page.conn.send({ type: "typing", ...destination(conv), state: "active" })) {
        this.sentKey = conv.key;
        this.sentAt = now;
      }
    } else if (!typing && this.sentKey === conv.key) {
      this.stop();
    }
  }

  /** We stopped typing where we last said "active" (emptied the box, left for another room). */
  stop() {
    const conv = this.sentKey && this.page.store.conversations.get(this.sentKey);
    if (conv) this.page.conn.send({ type: "typing", ...destination(conv), state: "done" });
    this.sentKey = null;
  }

  /** Our message went out: receivers clear the notification themselves, nothing to send. */
  sent() {
    this.sentKey = null;
  }

  /** Someone's notification arrived (or they sent a line: state "done"). */
  received(conv, nick, state) {
    if (!conv.typing) conv.typing = new Map();
    const had = conv.typing.has(fold(nick));
    if (state === "active") conv.typing.set(fold(nick), { nick, until: Date.now() + SHOWN_MS });
    else conv.typing.delete(fold(nick));
    if (had || state === "active") this.render();
  }

  /** Draw the line for the conversation in view; forget expired entries; wake up at the next. */
  render() {
    clearTimeout(this.timer);
    const conv = this.page.store.activeConversation();
    const now = Date.now();
    let next = Infinity;
    const names = [];
    for (const [key, entry] of (conv && conv.typing) || []) {
      if (entry.until <= now) {
        conv.typing.delete(key);
        continue;
      }
      names.push(entry.nick);
      next = Math.min(next, entry.until);
    }
    const box = $("typing");
    const text = typingText(names);
    if (box.textContent !== text) box.textContent = text;
    if (next !== Infinity) this.timer = setTimeout(() => this.render(), next - now + 50);
  }
}

/** "alice is typing…", "alice and bob are typing…", "4 people are typing…". */
export function typingText(names) {
  if (!names.length) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length <= 3) return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are typing…`;
  return `${names.length} people are typing…`;
}
