// Accounts on the chat page: "Sign in", "Create account" and "Continue as guest" on the login form;
// a signed-in user's private conversations and read positions come back on any browser; "Register
// this room" for a signed-in channel operator. Protocol: web_gateway/accounts.py.
//
// The password stays in memory only (page.credentials), for the hellos of gateway reconnects; after
// a reload the user signs in again (the account name is kept in sessionStorage to fill the form).

import * as ui from "./sidebar.js";
import { fold } from "./store.js";

const $ = (id) => document.getElementById(id);
const SAVED_ACCOUNT = "tcpchat.account";
const MARKER_EVERY_MS = 1500; // how often the newest line read is reported (MARKREAD)
const CONVERSATION_RETRIES = 2; // a refused "conversations" request is asked again this often
const CONVERSATION_RETRY_MS = 1000;

/** The hello frame for `nick`, with the account fields while signing in or creating an account. */
export function helloFrame(page, nick) {
  return { type: "hello", nick, ...(page.credentials || {}) };
}

/** Lines after the read marker that are not ours: what the "New messages" rule sits above. */
function afterMarker(conv) {
  if (!conv.readMarker) return [];
  return conv.messages.filter((m) => !m.system && !m.self && m.time && m.time > conv.readMarker);
}

/** Restore the "New messages" rule from the stored marker: the open conversation shows it now,
 * the others count those lines as unread (the rule appears when they are opened). */
function applyMarker(page, conv) {
  const fresh = afterMarker(conv);
  if (page.store.active === conv.key) {
    if (!conv.firstUnread && fresh.length) {
      conv.firstUnread = fresh[0];
      conv.changed.add(fresh[0]);
    }
  } else {
    conv.unread = Math.max(conv.unread, fresh.length);
  }
  page.changed(conv);
}

/** Handlers for the account events; `base` are the chat and session handlers they extend. */
export function accountHandlers(page, base) {
  const { store, conn } = page;
  let wantConversations = false;
  let conversationRetries = 0;

  return {
    account(ev) {
      page.account = ev.account || null;
      if (ev.pending) {
        page.credentials = null;
        page.session.wantedNick = "";
        ui.showError("login-error", "");
        $("login-note").textContent = `Account ${ev.pending} created. An operator must approve it before you can sign in.`;
        $("login-button").disabled = false;
        return;
      }
      if (page.account && page.credentials) {
        // Created or signed in: later hellos (gateway reconnects) sign in to it.
        page.credentials = { account: page.account, password: page.credentials.password };
        sessionStorage.setItem(SAVED_ACCOUNT, page.account);
        wantConversations = true;
      } else {
        page.credentials = null;
        sessionStorage.removeItem(SAVED_ACCOUNT);
      }
      $("my-account").textContent = page.account ? `(account ${page.account})` : "(guest)";
    },

    status(ev) {
      base.status(ev);
      if (ev.state === "connected" && wantConversations) {
        wantConversations = false;
        conn.send({ type: "conversations" });
      }
    },

    conversations(ev) {
      for (const target of ev.targets) {
        store.get("dm", target.nick);
        conn.send({ type: "history", room: target.nick, limit: page.historyLimit });
        conn.send({ type: "markread", nick: target.nick });
      }
      page.changed(null, { all: true });
    },

    markread(ev) {
      const conv = ev.room ? store.get("room", ev.room, false) : store.get("dm", ev.nick, false);
      if (!conv || !ev.time) return;
      const ours = ev.time === conv.sentMarker;
      conv.readMarker = ev.time;
      if (!ours) applyMarker(page, conv);
    },

    history(ev) {
      base.history(ev);
      const conv = ev.room ? store.get("room", ev.room, false) : store.get("dm", ev.nick, false);
      if (conv && conv.readMarker && !conv.markerShown) {
        conv.markerShown = true; // once, for the history that came with it (not "Load earlier")
        applyMarker(page, conv);
      }
    },

    room_registered(ev) {
      const conv = store.get("room", ev.room, false);
      if (!conv) return;
      if (ev.ok) conv.registered = true;
      conv.system(ev.ok ? `${ev.room} is registered to your account: it keeps its topic, modes and operators.` : ev.message);
      page.changed(conv, { header: true });
    },

    error(ev) {
      if (ev.code === "conversations_failed" && conversationRetries < CONVERSATION_RETRIES) {
        conversationRetries += 1; // the server could not list them just now: ask once more
        setTimeout(() => conn.send({ type: "conversations" }), CONVERSATION_RETRY_MS);
        return;
      }
      if (ev.code === "auth_failed" || ev.code === "register_failed") {
        // No session: keep the form as typed (but the password), say why, send no hello by ourselves.
        page.credentials = null;
        page.session.wantedNick = "";
        $("password-input").value = "";
        ui.showError("login-error", ev.message);
        $("login-button").disabled = false;
        $("password-input").focus();
        return;
      }
      base.error(ev);
    },
  };
}

/** Wire the login buttons, the marker reports and the "Register this room" button. */
export function setupAccount(page, signIn, roomOf) {
  const { store, conn } = page;

  function start(register) {
    const nick = $("nick-input").value.trim();
    const password = $("password-input").value;
    $("login-note").textContent = "";
    if (!password) {
      ui.showError("login-error", register
        ? "Choose a password for the new account."
        : "Type your password, or use “Join the chat” to chat without an account.");
      $("password-input").focus();
      return;
    }
    page.credentials = register ? { password, register: true } : { account: nick, password };
    const room = roomOf($("login-room").value.trim());
    if (!signIn(page, nick, room)) page.credentials = null;
  }

  $("signin-button").addEventListener("click", () => start(false));
  $("signup-button").addEventListener("click", () => start(true));
  for (const id of ["password-input", "nick-input", "login-room"]) {
    $(id).addEventListener("keydown", (e) => {
      // With a password typed, Enter signs in (the filled button then); else it joins as a guest.
      if (e.key === "Enter" && $("password-input").value) {
        e.preventDefault();
        start(false);
      }
    });
  }
  $("register-room-button").addEventListener("click", () => {
    const conv = store.activeConversation();
    if (conv && conv.type === "room") conn.send({ type: "register_room", room: conv.name });
  });

  // The newest line read in the open conversation goes to the server (MARKREAD), so the next
  // sign-in, on any browser, puts the "New messages" rule there.
  setInterval(() => {
    const conv = store.activeConversation();
    if (!page.account || !conv || document.hidden || !conn.isOpen) return;
    const last = [...conv.messages].reverse().find((m) => m.id && !m.pending && m.time && m.time.length === 24);
    if (!last || last.time <= (conv.sentMarker || "") || last.time <= (conv.readMarker || "")) return;
    conv.sentMarker = last.time;
    conn.send({ type: "markread", [conv.type === "room" ? "room" : "nick"]: conv.name, time: last.time });
  }, MARKER_EVERY_MS);

  const changed = page.changed;
  page.changed = (conv, what) => {
    changed(conv, what);
    const open = store.activeConversation();
    const me = open && open.type === "room" ? open.members.get(fold(store.nick)) : null;
    $("register-room-button").hidden = !(page.account && me && me.modes.includes("@") && !open.registered);
  };
}

/** After a reload of a signed-in page: ask for the password again instead of coming back as a
 * guest under the account's nick. Returns true when the login form is shown for that. */
export function needsPasswordAgain(page, saved) {
  const account = sessionStorage.getItem(SAVED_ACCOUNT);
  if (!account || !saved || !saved.nick) return false;
  page.session.roomsToRestore = saved.rooms || [];
  $("nick-input").value = account;
  $("login-note").textContent = `Sign in again to continue as ${account}, or use “Join the chat” as a guest.`;
  $("password-input").focus();
  return true;
}
