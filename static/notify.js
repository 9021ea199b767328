// Desktop notifications for mentions and private messages (asked for on a click, never on load),
// and per-room mute: a muted conversation shows no counts and never notifies.

import { stripFormatting } from "./format.js";

const $ = (id) => document.getElementById(id);
const MUTED_KEY = "tcpchat.muted"; // localStorage: keys of muted conversations
const SHOW_MS = 10000; // a notification closes itself after this

export class Notifier {
  constructor(onOpen) {
    this.onOpen = onOpen; // (key) => void: a notification was clicked
    this.muted = new Set(JSON.parse(localStorage.getItem(MUTED_KEY) || "[]"));
    const button = $("notify-button");
    button.hidden = !("Notification" in window) || Notification.permission !== "default";
    button.addEventListener("click", async () => {
      await Notification.requestPermission(); // asked because the user clicked, as browsers expect
      button.hidden = Notification.permission !== "default";
    });
  }

  isMuted(conv) {
    return this.muted.has(conv.key);
  }

  toggleMute(conv) {
    if (this.muted.has(conv.key)) this.muted.delete(conv.key);
    else this.muted.add(conv.key);
    localStorage.setItem(MUTED_KEY, JSON.stringify([...this.muted]));
  }

  /** A mention or private message arrived where the user is not looking. */
  notify(conv, message) {
    if (this.isMuted(conv) || !("Notification" in window) || Notification.permission !== "granted") return;
    const title = conv.type === "dm" ? `${message.from} (private)` : `${message.from} in ${conv.name}`;
    const shown = new Notification(title, { body: stripFormatting(message.text), tag: `conv-${conv.key}` });
    shown.onclick = () => {
      window.focus();
      this.onOpen(conv.key);
      shown.close();
    };
    setTimeout(() => shown.close(), SHOW_MS);
  }
}
