// Signing in and staying signed in: the `status` and `error` events, hello retries, rejoining the
// rooms after a reconnect, and what a refused nick looks like on the login form.

import { helloFrame } from "./account.js";
import * as ui from "./sidebar.js";

const $ = (id) => document.getElementById(id);
const HELLO_RETRIES = 8; // a page reconnecting may find its old nick still held for a moment
const HELLO_RETRY_MS = 1500;
const NICK_ERRORS = ["431", "432", "433", "436"];
const NICK = /^[A-Za-z[\]\\`^_{|}][A-Za-z0-9[\]\\`^_{|}-]*$/; // RFC 2812 nick characters

/** Why a nick cannot be used, in words, or "" when it looks fine (the server has the last word). */
export function nickProblem(nick) {
  if (!nick) return "Pick a nick first.";
  if (/\s/.test(nick)) return "A nick cannot contain spaces.";
  if (!NICK.test(nick)) {
    return "A nick uses letters, digits and - _ [ ] { } | ^ ` only, and does not start with a digit or -.";
  }
  return "";
}

export function sessionHandlers(page) {
  const { store, conn } = page;
  const s = page.session; // {wantedNick, signedIn, freshSession, helloRetries, upstreamRetries, roomsToRestore, upstreamLost}

  function showLogin(text) {
    $("chat").hidden = true;
    $("login").hidden = false;
    $("login-button").disabled = false;
    ui.showStatus("", "ok");
    ui.showError("login-error", text);
    $("nick-input").focus();
  }

  function enterChat() {
    s.signedIn = true;
    $("login").hidden = true;
    $("chat").hidden = false;
    ui.showError("login-error", "");
    page.changed(null, { all: true });
    $("message-input").focus();
  }

  function restoreRooms() {
    const names = new Set(store.rooms().map((c) => c.name).concat(s.roomsToRestore));
    s.roomsToRestore = [];
    for (const name of names) conn.send({ type: "join", room: name });
  }

  function tellRooms(text) {
    for (const conv of store.rooms()) {
      conv.system(text);
      page.changed(conv);
    }
  }

  return {
    status(ev) {
      if (ev.nick) store.nick = ev.nick;
      if (ev.state === "connected") {
        s.helloRetries = 0;
        s.upstreamRetries = 0;
        ui.showStatus("", "ok");
        if (!s.signedIn) enterChat();
        if (!s.freshSession) {
          s.freshSession = true; // a new upstream session: it is in no room yet
          restoreRooms();
        } else if (s.upstreamLost) {
          tellRooms("Reconnected to the chat server.");
        }
        s.upstreamLost = false;
        page.changed(null, { me: true });
        page.save();
      } else if (ev.state === "reconnecting") {
        if (!s.upstreamLost) {
          s.upstreamLost = true;
          tellRooms("Lost the chat server; reconnecting…");
        }
        ui.showStatus(`Chat server connection lost (${ev.reason || "reconnecting"}); reconnecting…`, "warn");
      } else if (ev.state === "connecting") {
        if (s.signedIn) ui.showStatus("Connecting to the chat server…", "info");
      } else if (ev.state === "closed" && s.signedIn && s.freshSession) {
        // The session ended for good (for example an operator disconnected us): do not come back
        // by ourselves; the user may sign in again and the rooms are restored.
        conn.close();
        s.signedIn = false;
        s.freshSession = false;
        s.roomsToRestore = store.rooms().map((c) => c.name);
        showLogin(`Disconnected: ${ev.reason || "the chat server closed the connection"}`);
      }
    },

    error(ev) {
      if (ev.code === "no_history" || !/^\d+$/.test(ev.code)) {
        // A history request may have failed (FAIL CHATHISTORY ...): another one may be made.
        if (page.olderAsked && ev.code === "no_history") {
          const conv = store.conversations.get(page.olderAsked);
          if (conv) conv.hasEarlier = false; // the server keeps no history: no button
          page.changed(conv);
        }
        page.olderAsked = null;
      }
      if (ev.code === "no_history") return;
      const awaitingHello = !s.signedIn || !s.freshSession;
      if (awaitingHello && (NICK_ERRORS.includes(ev.code) || (!s.signedIn && ev.code === "bad_field"))) {
        if (ev.code === "433" && s.helloRetries < HELLO_RETRIES) {
          // Coming back after a reload or a gateway restart: the old connection may hold the nick a moment.
          s.helloRetries += 1;
          setTimeout(() => conn.send(helloFrame(page, s.wantedNick)), HELLO_RETRY_MS);
          return;
        }
        s.signedIn = false;
        const text = ev.code === "bad_field" || ev.code === "432"
          ? nickProblem(s.wantedNick) || ui.errorText(ev) : ui.errorText(ev);
        showLogin(text);
        return;
      }
      if (awaitingHello && s.signedIn && ev.code === "upstream") {
        // Back on the gateway but the chat server is away: keep trying, like the gateway does.
        const wait = Math.min(HELLO_RETRY_MS * 2 ** Math.min(s.upstreamRetries++, 4), page.maxDelay);
        ui.showStatus(`The chat server is unreachable; retrying in ${Math.ceil(wait / 1000)}s…`, "warn");
        setTimeout(() => conn.send(helloFrame(page, s.wantedNick)), wait);
        return;
      }
      if (s.signedIn && (ev.code === "too_large" || ev.code === "bad_field")) page.sendRefused();
      ui.showError(s.signedIn ? "chat-error" : "login-error", ui.errorText(ev));
      $("login-button").disabled = false;
    },
  };
}

/** Send hello as the nick typed on the login form (or say what is wrong with it). */
export function signIn(page, nick, room) {
  const s = page.session;
  const problem = nickProblem(nick);
  if (problem) {
    ui.showError("login-error", problem);
    return false;
  }
  s.wantedNick = nick;
  if (room) s.roomsToRestore = [...new Set([...s.roomsToRestore, room])];
  ui.showError("login-error", "");
  $("login-button").disabled = true;
  s.helloRetries = HELLO_RETRIES; // typed by the user: report 433 at once
  if (page.conn.isOpen) {
    s.freshSession = false;
    page.conn.send(helloFrame(page, nick));
  } else {
    page.conn.open(); // onOpen sends hello
  }
  return true;
}
