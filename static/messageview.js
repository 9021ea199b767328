// One message as a list item. User text goes in through textContent (format.js), never innerHTML,
// so a message like "<script>" is shown as those characters and never parsed as markup.

import { formatText, nickColor } from "./format.js";

const GROUP_MS = 60 * 1000; // a line this soon after the same author's continues their group
const SHOWN_NAMES = 3; // a folded run names this many people, then "and N others"

let decorate = null; // (item, line, message) => void: actions.js adds the quote, reactions and actions

/** Set what adds reply quotes and reactions to each chat line (actions.js). */
export function setDecorator(fn) {
  decorate = fn;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Formatters are built once: toLocaleTimeString() builds one per call and was the page's
// biggest cost in a burst of lines (bench/page_burst.py profile).
const TIME = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const FULL = new Intl.DateTimeFormat([], { dateStyle: "full", timeStyle: "medium" });
const DATE = new Intl.DateTimeFormat([], { day: "numeric", month: "long", year: "numeric" });

function clock(iso) {
  const date = iso ? new Date(iso) : new Date();
  return Number.isNaN(date.getTime()) ? "" : TIME.format(date);
}

function dayKey(iso) {
  const d = iso ? new Date(iso) : null;
  return d && !Number.isNaN(d.getTime()) ? `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}` : "";
}

export function dayLabel(iso, now = new Date()) {
  const d = new Date(iso);
  const key = dayKey(iso);
  if (key === dayKey(now.toISOString())) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday.toISOString())) return "Yesterday";
  return DATE.format(d);
}

/** How a message sits after the one before it: a new day (a separator above it) and whether
 * it continues the previous author's group (no name or time repeated). */
export function contextOf(message, previous, unreadRule = false) {
  const day = message.time && (!previous || dayKey(previous.time) !== dayKey(message.time)) ? dayLabel(message.time) : "";
  const grouped = Boolean(
    !day && previous && !previous.system && !message.system && previous.from === message.from &&
    previous.kind === message.kind && message.kind !== "action" &&
    Date.parse(message.time) - Date.parse(previous.time) < GROUP_MS,
  );
  return { day, grouped: grouped && !unreadRule, unread: unreadRule,
    key: `${day}|${grouped && !unreadRule ? 1 : 0}|${unreadRule ? 1 : 0}` };
}

function names(list) {
  const unique = [...new Set(list)];
  if (unique.length <= SHOWN_NAMES) {
    return unique.length === 1 ? unique[0] : `${unique.slice(0, -1).join(", ")} and ${unique[unique.length - 1]}`;
  }
  const more = unique.length - SHOWN_NAMES;
  return `${unique.slice(0, SHOWN_NAMES).join(", ")} and ${more} ${more === 1 ? "other" : "others"}`;
}

export function eventText(e) {
  const why = e.detail ? ` (${e.detail})` : "";
  switch (e.type) {
    case "join": return `${e.nick} joined`;
    case "part": return `${e.nick} left${why}`;
    case "quit": return `${e.nick} quit${why}`;
    case "nick": return `${e.nick} is now known as ${e.detail}`;
    case "mode": return `${e.nick} set mode ${e.detail}`;
    default: return `${e.nick} ${e.type}`;
  }
}

/** "alice, bob and carol joined · dave left · erin rejoined · 2 modes set" for a run of membership
 * events. Someone who left and came back within the run "rejoined" (not "joined · left", which
 * reads as the wrong order). */
export function runSummary(events) {
  if (events.length === 1) return eventText(events[0]);
  const ins = ["join"], outs = ["part", "quit"];
  const first = new Map(), last = new Map();
  for (const e of events) {
    if (!ins.includes(e.type) && !outs.includes(e.type)) continue;
    if (!first.has(e.nick)) first.set(e.nick, e.type);
    last.set(e.nick, e.type);
  }
  const back = (nick) => outs.includes(first.get(nick)) && ins.includes(last.get(nick));
  const of = (types) => events.filter((e) => types.includes(e.type) && !back(e.nick)).map((e) => e.nick);
  const parts = [];
  const joined = of(ins);
  const left = of(outs);
  const rejoined = [...first.keys()].filter(back);
  const renamed = events.filter((e) => e.type === "nick");
  const modes = events.filter((e) => e.type === "mode");
  if (joined.length) parts.push(`${names(joined)} joined`);
  if (left.length) parts.push(`${names(left)} left`);
  if (rejoined.length) parts.push(`${names(rejoined)} rejoined`);
  if (renamed.length) parts.push(renamed.length === 1 ? eventText(renamed[0]) : `${renamed.length} nick changes`);
  if (modes.length) parts.push(modes.length === 1 ? eventText(modes[0]) : `${modes.length} mode changes`);
  return parts.join(" · ");
}

function eventsBody(message, item) {
  const text = el("span", "text", runSummary(message.events));
  if (message.events.length < 2) return [text];
  const toggle = el("button", "expand", message.expanded ? "hide" : `show ${message.events.length}`);
  toggle.type = "button";
  toggle.setAttribute("aria-expanded", String(Boolean(message.expanded)));
  const detail = el("ul", "event-list");
  detail.hidden = !message.expanded;
  for (const e of message.events) detail.append(el("li", "", eventText(e)));
  toggle.addEventListener("click", () => {
    message.expanded = !message.expanded;
    detail.hidden = !message.expanded;
    toggle.textContent = message.expanded ? "hide" : `show ${message.events.length}`;
    toggle.setAttribute("aria-expanded", String(message.expanded));
  });
  item.classList.add("run");
  return [text, toggle, detail]; // the list goes under the line (messageItem)
}

export function messageItem(message, ctx = { day: "", grouped: false, unread: false, key: "|0|0" }) {
  const item = el("li", "message");
  item.classList.add(`kind-${message.kind}`);
  if (message.pending) item.classList.add("pending");
  if (message.self) item.classList.add("self");
  if (message.mention) item.classList.add("mention");
  if (ctx.grouped) item.classList.add("cont");
  if (message.id) item.dataset.id = message.id;
  item.ctxKey = ctx.key;
  if (ctx.day) {
    const rule = el("div", "day");
    rule.setAttribute("role", "separator");
    rule.append(el("span", "", ctx.day));
    item.append(rule);
  }
  if (ctx.unread) {
    const rule = el("div", "new-rule");
    rule.setAttribute("role", "separator");
    rule.append(el("span", "", "New messages"));
    item.append(rule);
  }
  const line = el("div", "line");
  const time = el("time", "time", clock(message.time));
  if (message.time) {
    time.dateTime = message.time;
    const date = new Date(message.time);
    if (!Number.isNaN(date.getTime())) time.title = FULL.format(date);
  }
  line.append(time);
  let below = null;
  if (message.kind === "events") {
    const [text, toggle, detail] = eventsBody(message, item);
    line.append(text);
    if (toggle) line.append(toggle);
    below = detail;
  } else if (message.system) {
    line.append(el("span", "text", message.text));
  } else if (message.kind === "action") {
    const text = el("span", "text");
    text.append(`* `, el("span", `who ${nickColor(message.from)}`, message.from), " ", ...formatText(message.text));
    line.append(text);
  } else {
    const text = el("span", "text");
    text.append(...formatText(message.text));
    line.append(el("span", `author ${nickColor(message.from)}`, message.from), text);
  }
  item.append(line);
  if (below) item.append(below);
  if (decorate && !message.system) decorate(item, line, message);
  if (message.pending) item.title = "sending…";
  if (message.failed) {
    item.classList.add("failed");
    item.title = "not confirmed by the server";
  }
  return item;
}
