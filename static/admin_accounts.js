// The admin page's Accounts table: each account's state and live connections, and its actions
// (Approve a pending registration, Disable / Enable, Reset password) as calls to the JSON API
// (/api/admin/accounts, web_gateway/api/accounts.py) with the session's CSRF token. Text from the
// server is inserted as text, never as HTML. The new password is sent in the request body only.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const CSRF = meta("csrf-token");
const POLL_MS = Math.max(250, Number(meta("poll-interval")) || 2000);
const HEADERS = { "X-Requested-With": "tcpchat-admin", Accept: "application/json" };
const $ = (sel) => document.querySelector(sel);
let timer = null;
let busy = false; // an action is running: the table is not redrawn under the admin's pointer

function note(text) {
  $("#accounts-note").textContent = text;
}

async function call(path, options = {}) {
  const resp = await fetch(path, { credentials: "same-origin", ...options, headers: { ...HEADERS, ...(options.headers || {}) } });
  let body = null;
  try { body = await resp.json(); } catch { body = null; }
  if (!resp.ok) throw new Error(body?.detail ? String(body.detail) : `HTTP ${resp.status}`);
  return body;
}

function button(text, action, account) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.dataset.action = action;
  b.dataset.account = account;
  return b;
}

function render(data) {
  const body = $("#accounts tbody");
  body.replaceChildren();
  if (!data.accounts.length) note("No accounts yet.");
  for (const a of data.accounts) {
    const row = body.insertRow();
    row.dataset.account = a.name;
    row.insertCell().textContent = a.name;
    row.insertCell().textContent = a.state;
    row.insertCell().textContent = a.connections.length
      ? a.connections.map((c) => `${c.nick} (${c.transport}, ${c.address})`).join(", ") : "none";
    const actions = row.insertCell();
    if (a.state === "pending") actions.append(button("Approve", "approve", a.name), " ");
    actions.append(a.disabled ? button("Enable", "enable", a.name) : button("Disable", "disable", a.name));
    actions.append(" ", button("Reset password", "password", a.name));
  }
}

async function refresh() {
  clearTimeout(timer);
  if (!document.hidden && !busy) {
    try {
      render(await call("/api/admin/accounts"));
    } catch (err) {
      note(`accounts: ${err.message}`);
    }
  }
  timer = setTimeout(refresh, POLL_MS);
}

async function act(action, account) {
  const options = { method: "POST", headers: { "X-CSRF-Token": CSRF } };
  if (action === "password") {
    const password = $("#new-password").value;
    if (!password) {
      note("Type the new password in the New password box first.");
      $("#new-password").focus();
      return;
    }
    options.body = JSON.stringify({ password });
    options.headers["Content-Type"] = "application/json";
  }
  busy = true;
  try {
    await call(`/api/admin/accounts/${encodeURIComponent(account)}/${action}`, options);
    if (action === "password") $("#new-password").value = "";
    note(action === "password" ? `New password set for ${account}.` : `${account}: ${action} done.`);
  } catch (err) {
    note(`${action} ${account} failed: ${err.message}`);
  } finally {
    busy = false;
  }
  refresh();
}

$("#accounts").addEventListener("click", (event) => {
  const target = event.target;
  if (target instanceof HTMLButtonElement && target.dataset.action) act(target.dataset.action, target.dataset.account);
});

refresh();
