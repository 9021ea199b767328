// The admin page: refreshes the connections and rooms tables by short polling of the JSON API,
// and turns the Kill forms into DELETE calls (with the session's CSRF token) that take the row
// away at once. Everything from the server is inserted as text, never as HTML.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const CSRF = meta("csrf-token");
const POLL_MS = Math.max(250, Number(meta("poll-interval")) || 2000);
const HEADERS = { "X-Requested-With": "tcpchat-admin", Accept: "application/json" };

const $ = (sel) => document.querySelector(sel);
const problem = $("#problem");
let timer = null;

function duration(s) {
  if (s >= 86400) return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function showProblem(text) {
  problem.textContent = text;
  problem.hidden = !text;
}

async function api(path, options = {}) {
  const resp = await fetch(path, { credentials: "same-origin", ...options, headers: { ...HEADERS, ...(options.headers || {}) } });
  if (resp.status === 401) {
    window.location.assign("/admin/login");
    throw new Error("logged out");
  }
  let body = null;
  try { body = await resp.json(); } catch { body = null; }
  if (!resp.ok) throw new Error(body?.detail ? String(body.detail) : `HTTP ${resp.status}`);
  return body;
}

const ARM_MS = 6000; // a first click on Kill asks "Kill nick?"; the second, within this, kills
let armed = null; // {id, timer}: the connection whose Kill is waiting for its confirmation

function killForm(conn) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = "/admin/kill";
  form.className = "kill";
  for (const [name, value] of [["csrf", CSRF], ["conn_id", String(conn.id)], ["reason", ""]]) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  const button = document.createElement("button");
  button.type = "submit";
  const confirming = armed !== null && armed.id === String(conn.id);
  button.textContent = confirming ? `Kill ${conn.nick}?` : "Kill";
  if (confirming) {
    button.className = "confirm";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "cancel";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => disarm(form, conn));
    form.append(button, " ", cancel);
  } else {
    form.append(button);
  }
  return form;
}

function arm(form) {
  const conn = { id: form.elements.conn_id.value, nick: form.closest("tr")?.dataset.nick ?? "" };
  if (armed) clearTimeout(armed.timer);
  armed = { id: conn.id, timer: setTimeout(() => disarm(null, conn), ARM_MS) };
  const fresh = killForm(conn);
  form.replaceWith(fresh);
  fresh.querySelector("button.confirm").focus();
}

function disarm(form, conn) {
  if (!armed || armed.id !== String(conn.id)) return;
  clearTimeout(armed.timer);
  armed = null;
  const current = form ?? document.querySelector(`#connections tr[data-id="${CSS.escape(String(conn.id))}"] form.kill`);
  current?.replaceWith(killForm(conn));
}

function renderConnections(data) {
  const body = $("#connections tbody");
  body.replaceChildren();
  // A cluster: a Node column (the node each connection is on); a server alone: none.
  const byNode = Object.entries(data.totals.by_node ?? {});
  $("#node-col").hidden = byNode.length === 0;
  for (const c of data.connections) {
    const row = body.insertRow();
    row.dataset.id = String(c.id);
    row.dataset.nick = c.nick;
    cell(row, String(c.id));
    if (byNode.length) cell(row, c.node ?? "", "node");
    const nick = cell(row, c.nick, "nick");
    if (c.oper) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "oper";
      nick.append(" ", tag);
    }
    cell(row, c.account ?? "", "account");
    const addr = cell(row, c.address, "address");
    if (c.gateway) {
      const via = document.createElement("span");
      via.className = "muted";
      via.textContent = `via ${c.gateway}`;
      addr.append(" ", via);
    }
    cell(row, c.transport);
    cell(row, c.channels.join(" "));
    const since = new Date(c.signon * 1000);
    cell(row, `${since.toLocaleTimeString()} (${duration(c.connected_seconds)})`).title = since.toISOString();
    cell(row, duration(c.idle_seconds));
    cell(row, `${c.messages_in} / ${c.messages_out}`);
    cell(row, `${c.bytes_in} / ${c.bytes_out}`);
    cell(row, String(c.sendq));
    const last = row.insertCell();
    if (c.admin_link) {
      last.textContent = "this gateway";
      last.className = "muted";
    } else {
      last.append(killForm(c));
    }
  }
  applyFilter();
  const t = data.totals;
  const foot = $("#totals");
  foot.replaceChildren();
  const perNode = byNode.map(([k, v]) => ` · ${k} ${v}`).join("");
  cell(foot, `${t.connections} connections (${t.registered} registered)${perNode}`).colSpan = byNode.length ? 5 : 4;
  cell(foot, Object.entries(t.by_transport).map(([k, v]) => `${k} ${v}`).join(" "));
  cell(foot, "").colSpan = 3;
  cell(foot, `${t.messages_in} / ${t.messages_out}`);
  cell(foot, `${t.bytes_in} / ${t.bytes_out}`);
  cell(foot, String(t.sendq));
  cell(foot, "");
}

function applyFilter() {
  const query = $("#filter").value.trim().toLowerCase();
  for (const row of $("#connections tbody").rows) {
    row.hidden = Boolean(query) && !row.textContent.toLowerCase().includes(query);
  }
}

$("#filter").addEventListener("input", applyFilter);

function renderRooms(data) {
  const body = $("#rooms tbody");
  body.replaceChildren();
  for (const r of data.rooms) {
    const row = body.insertRow();
    row.dataset.room = r.name;
    cell(row, r.name);
    cell(row, String(r.member_count));
    cell(row, r.topic);
    cell(row, r.modes ?? "");
    cell(row, r.messages === null ? "" : String(r.messages));
    cell(row, r.messages_per_minute === null ? "…" : String(r.messages_per_minute));
  }
}

function renderUpstreams(data) {
  // Each chat server node the gateway connects users to: up, or down since when and why.
  const box = $("#upstreams");
  const nodes = data.upstreams;
  box.hidden = nodes.length < 2;
  if (box.hidden) return;
  box.replaceChildren("Chat server nodes: ");
  nodes.forEach((u, i) => {
    const span = document.createElement("span");
    span.className = `upstream ${u.state}`;
    span.dataset.address = u.address;
    const since = u.down_since ? ` since ${new Date(u.down_since * 1000).toLocaleTimeString()}` : "";
    span.textContent = `${u.address} ${u.state}${since}${u.reason ? ` (${u.reason})` : ""}`;
    box.append(...(i ? [" · ", span] : [span]));
  });
}

async function refresh() {
  clearTimeout(timer);
  if (document.hidden) {  // a background tab does not poll; it refreshes when shown again
    timer = setTimeout(refresh, POLL_MS);
    return;
  }
  const [conns, rooms, nodes] = await Promise.allSettled(
    [api("/api/admin/connections"), api("/api/rooms"), api("/api/admin/upstreams")]);
  if (nodes.status === "fulfilled") renderUpstreams(nodes.value);
  const problems = [];
  for (const [result, render] of [[conns, renderConnections], [rooms, renderRooms]]) {
    if (result.status === "fulfilled") render(result.value);
    else if (result.reason.message !== "logged out") problems.push(result.reason.message);
  }
  showProblem([...new Set(problems)].join(" "));
  if (problems.length === 0) $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  timer = setTimeout(refresh, POLL_MS);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});

async function kill(form) {
  const id = form.elements.conn_id.value;
  const row = form.closest("tr");
  const reason = $("#kill-reason").value.trim() || "Disconnected by an administrator";
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    await api(`/api/admin/connections/${encodeURIComponent(id)}?reason=${encodeURIComponent(reason)}`, {
      method: "DELETE",
      headers: { "X-CSRF-Token": CSRF },
    });
    row?.remove();
    showProblem("");
  } catch (err) {
    button.disabled = false;
    showProblem(`kill failed: ${err.message}`);
  }
  refresh();
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.classList.contains("kill")) {
    event.preventDefault();
    if (armed && armed.id === form.elements.conn_id.value) {
      clearTimeout(armed.timer);
      armed = null;
      kill(form);
    } else {
      arm(form);
    }
  }
});

refresh();
