// Rendering. Every piece of user text goes through textContent (never innerHTML), so a message
// like "<script>" is shown as those characters and never parsed as markup.

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(iso) {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function messageItem(message) {
  const item = el("li", "message");
  item.classList.add(`kind-${message.kind}`);
  if (message.pending) item.classList.add("pending");
  if (message.self) item.classList.add("self");
  if (message.id) item.dataset.id = message.id;
  const time = el("time", "time", clock(message.time));
  if (message.time) time.dateTime = message.time;
  item.append(time);
  if (message.system) {
    item.append(el("span", "text", message.text));
  } else if (message.kind === "action") {
    item.append(el("span", "text", `* ${message.from} ${message.text}`));
  } else {
    item.append(el("span", "author", message.from), el("span", "text", message.text));
  }
  if (message.pending) item.title = "sending…";
  if (message.failed) {
    item.classList.add("failed");
    item.title = "not confirmed by the server";
  }
  return item;
}

export function renderMessages(conv) {
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.replaceChildren(...(conv ? conv.messages.map(messageItem) : []));
  if (nearBottom || !conv) list.scrollTop = list.scrollHeight;
}

export function appendMessage(message) {
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(messageItem(message));
  if (nearBottom || message.self) list.scrollTop = list.scrollHeight;
}

export function renderRooms(store, onSelect) {
  const list = $("rooms");
  const items = [];
  for (const conv of store.conversations.values()) {
    const item = el("li");
    const button = el("button", "room-button");
    button.type = "button";
    button.dataset.key = conv.key;
    if (conv.key === store.active) {
      button.classList.add("active");
      button.setAttribute("aria-current", "true");
    }
    const label = conv.type === "dm" ? `@ ${conv.name}` : conv.name;
    button.append(el("span", "room-name", label));
    if (conv.unread > 0) {
      const badge = el("span", "unread", String(conv.unread));
      badge.setAttribute("aria-label", `${conv.unread} unread`);
      button.append(badge);
    }
    if (!conv.joined) button.classList.add("left");
    button.addEventListener("click", () => onSelect(conv));
    item.append(button);
    items.push(item);
  }
  list.replaceChildren(...items);
}

export function renderHeader(conv) {
  $("room-title").textContent = conv ? (conv.type === "dm" ? `Private: ${conv.name}` : conv.name) : "No room open";
  $("room-topic").textContent = conv && conv.type === "room" ? conv.topic : "";
  $("leave-button").hidden = !conv;
  $("older-button").hidden = !conv || conv.type !== "room";
  $("leave-button").textContent = conv && conv.type === "dm" ? "Close" : "Leave";
  $("message-input").placeholder = conv
    ? `Message ${conv.name} (/me /nick /join /part /topic /msg)`
    : "Type /join #room";
}

export function renderMembers(conv) {
  const members = conv && conv.type === "room" ? conv.sortedMembers() : [];
  $("members").replaceChildren(
    ...members.map((m) => {
      const item = el("li", "member");
      const mark = m.modes.includes("@") ? "@" : m.modes.includes("+") ? "+" : "";
      item.append(el("span", "mode", mark), el("span", "nick", m.nick));
      if (mark === "@") item.title = "operator";
      if (mark === "+") item.title = "voice";
      return item;
    }),
  );
  $("member-count").textContent = members.length ? `(${members.length})` : "";
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
    433: `The nick ${ev.target || ""} is already in use; pick another.`,
    432: `${ev.target || "That nick"} is not a valid nick (letters, digits, - _ [ ] { } | ^ \` ; no spaces).`,
    rate_limited: "Slow down: you are sending too fast.",
  };
  return known[ev.code] || ev.message || `Error ${ev.code}`;
}
