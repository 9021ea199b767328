// Message actions (issue 14): reply (+draft/reply), react (+draft/react), delete (REDACT), copy a
// link to the message. One toolbar floats over the line under the pointer or the keyboard focus
// (Up/Down in the message list moves between lines), so 200 lines do not carry 200 toolbars; it
// sits outside the lines (positioned over them), so lines keep their layout and offsets.
// A reply shows the line it answers above it (a click jumps there); reactions are counted under
// the line. All user text goes in with textContent.

import { nickColor, stripFormatting } from "./format.js";
import { el, setDecorator } from "./messageview.js";
import { fold } from "./store.js";

const $ = (id) => document.getElementById(id);
export const REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "👀"];
const QUOTE_CHARS = 140; // a quoted original is cut to this

function button(text, label, onClick, className = "") {
  const b = el("button", className, text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label); // only where the text alone says too little
  b.addEventListener("click", onClick);
  return b;
}

/** Where an event or command about a conversation goes: {room} or {nick}. */
export function destination(conv) {
  return conv.type === "room" ? { room: conv.name } : { nick: conv.name };
}

/** The link to a message: opens its conversation and scrolls to it (jump.js reads it). */
export function messageLink(conv, id) {
  const where = conv.type === "room" ? `room=${encodeURIComponent(conv.name)}` : `nick=${encodeURIComponent(conv.name)}`;
  return `${location.origin}${location.pathname}#msg=${encodeURIComponent(id)}&${where}`;
}

export function setupActions(page) {
  const { store } = page;
  const list = $("messages");
  const bar = el("div", "msg-actions");
  bar.id = "msg-actions";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Message actions");
  const picker = el("div", "react-picker");
  picker.id = "react-picker";
  bar.hidden = picker.hidden = true;
  const log = list.parentElement; // the toolbar follows the list in the document (Tab order)
  const box = log.parentElement; // .conversation: what the toolbar is positioned in
  log.after(bar, picker);
  let current = null; // {item, message}

  function hide() {
    bar.hidden = picker.hidden = true;
    current = null;
  }

  /** Over the right end of the line, just above it (below it for the first line in view). */
  function place(item) {
    const c = box.getBoundingClientRect();
    const r = item.getBoundingClientRect();
    const top = Math.max(r.top - c.top - 14, list.getBoundingClientRect().top - c.top);
    bar.style.top = `${top}px`;
    bar.style.right = `${Math.max(8, c.right - r.right + 8)}px`;
    picker.style.top = `${top + bar.offsetHeight + 2}px`;
    picker.style.right = bar.style.right;
  }

  const canDelete = (conv, message) => {
    if (message.self || store.isMe(message.from)) return true;
    const me = conv.type === "room" ? conv.members.get(fold(store.nick)) : null;
    return Boolean(me && me.modes.includes("@"));
  };

  function react(message, emoji) {
    const conv = store.activeConversation();
    if (!conv || !message.id) return;
    const mine = (message.reactions || {})[emoji] || [];
    if (mine.some((n) => store.isMe(n))) return; // IRC has no un-react; once is enough
    page.conn.send({ type: "react", ...destination(conv), msgid: message.id, emoji });
  }

  function startReply(message) {
    const conv = store.activeConversation();
    if (!conv) return;
    page.replyTo = { key: conv.key, id: message.id, from: message.from, text: message.text };
    $("reply-who").textContent = message.from;
    $("reply-text").textContent = stripFormatting(message.text).slice(0, QUOTE_CHARS);
    $("reply-bar").hidden = false;
    $("message-input").focus();
  }

  function remove(message) {
    const conv = store.activeConversation();
    if (!conv || !message.id) return;
    if (!window.confirm("Delete this message for everyone?")) return;
    page.conn.send({ type: "redact", ...destination(conv), msgid: message.id });
  }

  async function copyLink(message) {
    const conv = store.activeConversation();
    if (!conv) return;
    const link = messageLink(conv, message.id);
    try {
      await navigator.clipboard.writeText(link);
      $("chat-error").textContent = "";
      page.flash("Link to the message copied.");
    } catch {
      page.flash(`Link: ${link}`); // no clipboard (not allowed): show it to copy by hand
    }
  }

  /** Put the toolbar on `item` (a chat line with an id). */
  function attach(item) {
    const conv = store.activeConversation();
    const message = item && page.list.messageOf(item);
    if (!conv || !message || !message.id || message.pending || message.system) return;
    if (current && current.item === item && !bar.hidden) return;
    current = { item, message };
    picker.hidden = true;
    const actions = [
      button("Reply", "", () => startReply(message)),
      button("React", "", () => {
        picker.hidden = !picker.hidden;
        if (!picker.hidden) picker.querySelector("button").focus();
      }),
      button("Copy link", "", () => copyLink(message)),
    ];
    if (canDelete(conv, message)) actions.push(button("Delete", "", () => remove(message), "danger"));
    bar.replaceChildren(...actions);
    picker.replaceChildren(...REACTIONS.map((e) => button(e, `React with ${e}`, () => {
      picker.hidden = true;
      react(message, e);
    })));
    bar.hidden = false;
    place(item);
  }

  list.addEventListener("mouseover", (e) => {
    const item = e.target.closest && e.target.closest("li.message[data-id]");
    if (item) attach(item);
  });
  list.addEventListener("mouseleave", (e) => {
    if (!bar.contains(e.relatedTarget) && !picker.contains(e.relatedTarget)) hide();
  });
  bar.addEventListener("mouseleave", (e) => {
    if (!list.contains(e.relatedTarget) && !picker.contains(e.relatedTarget) && picker.hidden) hide();
  });
  list.addEventListener("scroll", () => {
    if (!bar.hidden && current) place(current.item);
  }, { passive: true });
  for (const part of [bar, picker]) {
    part.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || !current) return;
      e.stopPropagation();
      const item = current.item;
      hide();
      if (item.isConnected) item.focus(); // back to the line the actions were for
    });
  }
  list.addEventListener("focusin", (e) => {
    const item = e.target.closest && e.target.closest("li.message[data-id]");
    if (item) attach(item);
  });
  // Keyboard: Up/Down in the list move between lines (each then shows its actions).
  list.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
    if (e.target !== list && !(e.target.matches && e.target.matches("li.message"))) return;
    const lines = [...list.querySelectorAll("li.message[data-id]")];
    if (!lines.length) return;
    const at = lines.indexOf(e.target);
    const next = at < 0 ? lines[lines.length - 1] : lines[Math.max(0, Math.min(lines.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)))];
    next.tabIndex = -1;
    next.focus();
    e.preventDefault();
  });

  $("reply-cancel").addEventListener("click", () => page.cancelReply());
  page.cancelReply = () => {
    page.replyTo = null;
    $("reply-bar").hidden = true;
  };

  setDecorator((item, line, message) => {
    if (message.reply) item.insertBefore(quoteOf(message), line);
    const counts = message.reactions ? Object.entries(message.reactions) : [];
    if (counts.length) {
      const row = el("div", "reactions");
      for (const [emoji, nicks] of counts) {
        const mine = nicks.some((n) => store.isMe(n));
        const shown = `${emoji} ${nicks.length}`;
        const b = button(shown, `${shown}: ${nicks.join(", ")}`, () => react(message, emoji), "reaction");
        b.setAttribute("aria-pressed", String(mine));
        row.append(b);
      }
      item.append(row);
    }
    if (current && current.message === message) hide(); // redrawn: attach again on hover
  });

  function quoteOf(message) {
    const conv = store.activeConversation();
    const original = conv ? conv.byId(message.reply) : null;
    const quote = el("button", "quote");
    quote.type = "button";
    quote.append("↪ ");
    if (original) {
      quote.append(el("span", `who ${nickColor(original.from)}`, original.from), " ",
        el("span", "", stripFormatting(original.text).slice(0, QUOTE_CHARS)));
      quote.title = "Show the message this answers";
    } else {
      quote.append(el("span", "", "a reply to an earlier message"));
      quote.title = "Find the message this answers (loads earlier lines)";
    }
    quote.addEventListener("click", () => conv && page.jumpTo(conv, message.reply));
    return quote;
  }
}
