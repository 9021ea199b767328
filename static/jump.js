// Going to one message: a reply's original, a search result, a link `#msg=<msgid>&room=<room>`.
// The conversation opens (a linked room is joined first); the message is scrolled to and flashed
// once it is loaded. If it is older than what the page holds, earlier pages are fetched (as
// "Load earlier messages" does) up to SEEK_PAGES of them.

import { fold } from "./store.js";

const SEEK_PAGES = 10; // history pages fetched while looking for an older message

/** {msgid, room?, nick?} from a location hash, or null. */
export function parseLink(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const msgid = params.get("msg");
  if (!msgid) return null;
  return { msgid, room: params.get("room") || null, nick: params.get("nick") || null };
}

export function setupJump(page, loadOlder) {
  const { store } = page;
  let seek = null; // {key, msgid, pages}
  let linked = parseLink(location.hash); // waits for the sign-in

  function show(conv, message) {
    seek = null;
    if (store.active !== conv.key) page.select(conv);
    page.list.focusOn(message);
  }

  /** Go to message `msgid` of `conv`: now if loaded, else after fetching earlier pages. */
  page.jumpTo = (conv, msgid) => {
    const message = conv.byId(msgid);
    if (message) {
      show(conv, message);
      return;
    }
    if (store.active !== conv.key) page.select(conv);
    seek = { key: conv.key, msgid, pages: 0 };
    page.seekMore();
  };

  /** Called after history arrived: found it, or ask for the page before, or give up. */
  page.seekMore = () => {
    if (!seek) return;
    const conv = store.conversations.get(seek.key);
    if (!conv) {
      seek = null;
      return;
    }
    const message = conv.byId(seek.msgid);
    if (message) {
      show(conv, message);
    } else if (conv.hasEarlier && seek.pages < SEEK_PAGES && conv.type === "room") {
      seek.pages += 1;
      loadOlder();
    } else {
      seek = null;
      page.flash("That message is no longer in the history.");
    }
  };

  /** After signing in (and on a new hash): open what a link points at. */
  page.openLink = () => {
    if (!linked || !page.session.signedIn) return;
    const { msgid, room, nick } = linked;
    linked = null;
    if (room) {
      const conv = store.get("room", room, false);
      if (conv && conv.joined) {
        page.jumpTo(conv, msgid);
      } else {
        page.pendingOpen = fold(room);
        page.pendingJump = { key: `room:${fold(room)}`, msgid };
        page.conn.send({ type: "join", room });
      }
    } else if (nick) {
      page.jumpTo(store.get("dm", nick), msgid);
    }
  };

  /** A joined room's first history came: go on to a link's message. */
  page.afterHistory = (conv) => {
    const waiting = page.pendingJump;
    if (waiting && waiting.key === conv.key) {
      page.pendingJump = null;
      page.jumpTo(conv, waiting.msgid);
      return;
    }
    if (seek && seek.key === conv.key) page.seekMore();
  };

  window.addEventListener("hashchange", () => {
    linked = parseLink(location.hash);
    page.openLink();
  });
}
