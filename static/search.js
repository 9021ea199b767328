// Search in the open room's history: GET /api/rooms/{room}/messages?q= (the server's full-text
// index). Results are listed newest first; a click opens the message (jump.js loads earlier
// pages if it is not loaded yet). Results are text (textContent), like every line.

import { nickColor, stripFormatting } from "./format.js";
import { el } from "./messageview.js";

const $ = (id) => document.getElementById(id);
const RESULTS = 50; // results asked for per search
const WHEN = new Intl.DateTimeFormat([], { dateStyle: "medium", timeStyle: "short" });

export function setupSearch(page) {
  const { store } = page;
  const panel = $("search-panel");
  const input = $("search-input");
  const status = $("search-status");
  const results = $("search-results");
  let asked = 0; // the latest search: an older answer arriving late is ignored

  function open(show) {
    panel.hidden = !show;
    $("search-button").setAttribute("aria-expanded", String(show));
    if (show) input.focus();
  }

  $("search-button").addEventListener("click", () => open(panel.hidden));
  $("search-close").addEventListener("click", () => {
    open(false);
    $("message-input").focus();
  });
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      open(false);
      $("search-button").focus();
    }
  });

  $("search-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const conv = store.activeConversation();
    const words = input.value.trim();
    if (!conv || conv.type !== "room" || !words) return;
    const ticket = ++asked;
    status.textContent = "Searching…";
    results.replaceChildren();
    let body = null;
    let problem = "";
    try {
      const url = `/api/rooms/${encodeURIComponent(conv.name)}/messages?limit=${RESULTS}&q=${encodeURIComponent(words)}`;
      const resp = await fetch(url, { headers: { Accept: "application/json" } });
      body = await resp.json();
      if (!resp.ok) problem = typeof body.detail === "string" ? body.detail : `search failed (${resp.status})`;
    } catch {
      problem = "The search could not reach the server.";
    }
    if (ticket !== asked) return;
    if (problem) {
      status.textContent = problem;
      return;
    }
    const found = body.messages.slice().reverse(); // newest first
    status.textContent = found.length ? `${found.length} ${found.length === 1 ? "message" : "messages"} found` : "No messages found.";
    results.replaceChildren(...found.map((m) => resultItem(conv, m)));
  });

  function resultItem(conv, m) {
    const item = el("li");
    const b = el("button", "result");
    b.type = "button";
    const when = new Date(m.time);
    b.append(
      el("span", "result-time", Number.isNaN(when.getTime()) ? "" : WHEN.format(when)),
      el("span", `author ${nickColor(m.from)}`, m.from),
      el("span", "result-text", stripFormatting(m.text)),
    );
    b.addEventListener("click", () => {
      if (window.matchMedia("(max-width: 768px)").matches) open(false); // phones: make room
      page.jumpTo(conv, m.id);
    });
    item.append(b);
    return item;
  }

  /** The open conversation changed: a room can be searched, others cannot. */
  page.searchFor = (conv) => {
    const room = Boolean(conv && conv.type === "room");
    $("search-button").hidden = !room;
    if (!room) open(false);
    if (panel.dataset.key !== (conv ? conv.key : "")) {
      panel.dataset.key = conv ? conv.key : "";
      results.replaceChildren();
      status.textContent = "";
    }
  };
}
