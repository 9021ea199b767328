// The conversation list (rooms and private conversations in two sections, with unread and mention
// counts), the header of the open conversation, its members, and the tab title.

import { formatText, nickColor, stripFormatting } from "./format.js";
import { el } from "./messageview.js";

const $ = (id) => document.getElementById(id);
const APP_NAME = "tcpchat";
const FILTER_FROM = 10; // members from which the list gets a "Find someone" box
const ICON_SVG = (dot) => "data:image/svg+xml," + encodeURIComponent(
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="2" y="4" width="24" height="18" rx="5" fill="#2458c6"/>` +
  `<path d="M8 22 L8 29 L15 22 Z" fill="#2458c6"/>${dot ? '<circle cx="25" cy="8" r="7" fill="#d93025"/>' : ""}</svg>`);
const ICON = ICON_SVG(false);
const ICON_ALERT = ICON_SVG(true);

function countsLabel(conv) {
  const parts = [];
  if (conv.unread) parts.push(`${conv.unread} unread`);
  if (conv.mentions) parts.push(`${conv.mentions} ${conv.mentions === 1 ? "mention" : "mentions"}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

export class Sidebar {
  constructor(onSelect) {
    this.onSelect = onSelect;
    this.shape = ""; // which conversations, in which order, which is open: rebuild when it changes
    this.buttons = new Map(); // key -> button
    this.alerted = null;
  }

  /** Rebuild the lists if conversations came, went or changed; else update the counters only. */
  render(store) {
    const convs = store.ordered();
    const shape = convs.map((c) => `${c.key}:${c.joined}:${c.name}:${store.muted(c)}`).join(",") + `|${store.active}`;
    if (shape !== this.shape) {
      this.shape = shape;
      this.rebuild(store, convs);
    }
    for (const conv of convs) this.updateCounts(conv);
    renderDrawerBadge(store, convs);
    const total = store.totalUnread();
    const open = store.activeConversation();
    document.title = `${total ? `(${total}) ` : ""}${open ? `${open.name} — ` : ""}${APP_NAME}`;
    const alert = convs.some((c) => c.mentions > 0);
    if (alert !== this.alerted) {
      this.alerted = alert; // the tab's icon gets a red dot while a mention waits
      document.getElementById("favicon").href = alert ? ICON_ALERT : ICON;
    }
  }

  rebuild(store, convs) {
    this.buttons.clear();
    const section = (list, type) =>
      list.filter((c) => c.type === type).map((conv) => {
        const button = el("button", "room-button");
        button.type = "button";
        button.dataset.key = conv.key;
        if (conv.key === store.active) {
          button.classList.add("active");
          button.setAttribute("aria-current", "true");
        }
        if (!conv.joined) button.classList.add("left");
        if (store.muted && store.muted(conv)) button.classList.add("muted");
        const badge = el("span", "unread");
        badge.setAttribute("aria-hidden", "true"); // the counts are read from the sr-only text
        button.append(el("span", "room-name", conv.name), badge, el("span", "sr-only"));
        button.addEventListener("click", () => this.onSelect(conv));
        this.buttons.set(conv.key, button);
        const item = el("li");
        item.append(button);
        return item;
      });
    const rooms = section(convs, "room");
    const dms = section(convs, "dm");
    $("rooms").replaceChildren(...rooms);
    $("dms").replaceChildren(...dms);
    $("dms-section").hidden = dms.length === 0;
  }

  updateCounts(conv) {
    const button = this.buttons.get(conv.key);
    if (!button) return;
    const [, badge, spoken] = button.children;
    const text = conv.unread ? String(conv.unread) : "";
    if (badge.textContent !== text) badge.textContent = text;
    badge.hidden = !conv.unread;
    badge.classList.toggle("has-mention", conv.mentions > 0);
    const counts = countsLabel(conv); // the button reads "#lobby (2 unread, 1 mention)"
    if (spoken.textContent !== counts) spoken.textContent = counts;
  }
}

/** On a phone the room list hides in a drawer: its ☰ button shows what waits in the other
 * conversations (a red count when someone mentioned you), as The Lounge puts a dot on it. */
function renderDrawerBadge(store, convs) {
  const others = convs.filter((c) => c.key !== store.active);
  const unread = others.reduce((n, c) => n + c.unread, 0);
  const mention = others.some((c) => c.mentions > 0);
  const badge = $("rooms-toggle-badge");
  const text = unread ? String(unread) : "";
  if (badge.textContent === text && badge.classList.contains("has-mention") === mention) return;
  badge.textContent = text;
  badge.hidden = !unread;
  badge.classList.toggle("has-mention", mention);
  const label = unread ? `Rooms (${unread} unread${mention ? ", you were mentioned" : ""})` : "Rooms";
  $("rooms-toggle-label").textContent = label; // the button's name (its visible text is ☰ and a count)
}

export function renderHeader(conv, muted = false) {
  $("mute-button").hidden = !conv;
  $("mute-button").setAttribute("aria-pressed", String(muted));
  $("mute-button").textContent = muted ? "Muted" : "Mute";
  $("room-title").textContent = conv ? (conv.type === "dm" ? `Private: ${conv.name}` : conv.name) : "No room open";
  const topic = conv && conv.type === "room" ? conv.topic : "";
  const shown = $("room-topic");
  if (shown.dataset.text !== topic || shown.dataset.key !== (conv ? conv.key : "")) {
    // One line (two on a desktop) until clicked: a long topic must not push the room off a phone.
    shown.dataset.text = topic;
    shown.dataset.key = conv ? conv.key : "";
    shown.replaceChildren(...formatText(topic)); // links and IRC formatting, as in messages
    shown.title = stripFormatting(topic);
    shown.classList.remove("open");
  }
  shown.hidden = !topic;
  $("leave-button").hidden = !conv;
  $("more-toggle").hidden = !conv; // the phone's menu of room actions: nothing to act on
  const out = conv && conv.type === "room" && !conv.joined; // kicked: the room stays open to read
  $("leave-button").textContent = conv && (conv.type === "dm" || out) ? "Close" : "Leave";
  $("members-toggle").hidden = !conv || conv.type !== "room";
  $("chat").classList.toggle("no-members", !conv || conv.type !== "room"); // a private chat has no member list
  const narrow = matchMedia("(max-width: 479px)").matches; // a phone: one line, without the hint
  $("message-input").placeholder = !conv ? "Type /join #room"
    : out ? `You are not in ${conv.name}: /join ${conv.name} to go back`
    : narrow ? `Message ${conv.name}` : `Message ${conv.name} (/ for commands)`;
}

/** "Load earlier messages" only while the server may hold older ones and the top is in view. */
export function renderOlder(conv, atTop) {
  $("older-button").hidden = !conv || conv.type !== "room" || !conv.hasEarlier || !atTop;
}

/** The open room's members; a click on someone else opens a private conversation with them
 * (`onPick(nick)`), as a click on a name does in Slack or The Lounge. */
export function renderMembers(conv, onPick = null, isMe = () => false) {
  const all = conv && conv.type === "room" ? conv.sortedMembers() : [];
  const filter = $("member-filter");
  filter.hidden = all.length < FILTER_FROM;
  const wanted = filter.hidden ? "" : filter.value.trim().toLowerCase();
  const members = wanted ? all.filter((m) => m.nick.toLowerCase().includes(wanted)) : all;
  $("members").replaceChildren(
    ...members.map((m) => {
      const item = el("li", "member");
      const mark = m.modes.includes("@") ? "@" : m.modes.includes("+") ? "+" : "";
      const parts = [el("span", "mode", mark), el("span", `nick ${nickColor(m.nick)}`, m.nick)];
      const role = mark === "@" ? "operator" : mark === "+" ? "voice" : "";
      if (onPick && !isMe(m.nick)) {
        const button = el("button", "member-button quiet");
        button.type = "button";
        button.title = `${role ? `${role}; ` : ""}click to send ${m.nick} a private message`;
        button.append(...parts);
        button.addEventListener("click", () => onPick(m.nick));
        item.append(button);
      } else {
        item.append(...parts);
        if (role) item.title = role;
      }
      return item;
    }),
  );
  $("member-count").textContent = !all.length ? "" : wanted ? `(${members.length} of ${all.length})` : `(${all.length})`;
}

export function showStatus(text, tone) {
  const banner = $("status");
  banner.textContent = text || "";
  banner.hidden = !text;
  banner.dataset.tone = tone || "info";
}

export function showError(where, text) {
  $(where).textContent = text || "";
}

/** A sentence for an ``error`` event (nick errors get their own wording). */
export function errorText(ev) {
  const known = {
    433: ev.target ? `The nick ${ev.target} is already in use; pick another, such as ${ev.target}_ or ${ev.target}2.`
      : "That nick is already in use; pick another.",
    432: `${ev.target || "That nick"} is not a valid nick (letters, digits, - _ [ ] { } | ^ \` ; no spaces).`,
    rate_limited: "Slow down: you are sending too fast.",
    too_large: "That message is too long to send; it is still in the box.",
  };
  return known[ev.code] || ev.message || `Error ${ev.code}`;
}
