// Events from the gateway (DESIGN.md "Browser JSON protocol"; built in web_gateway/events.py) change
// the model; drawing waits for the next frame (page.changed), so a burst of lines costs one paint.
// Only the conversation in view is drawn; the others just count unread lines and mentions.

import { fold, mentions } from "./store.js";

/** Handlers for the chat events; `page` is the app's shared state (see app.js). */
export function chatHandlers(page) {
  const { store } = page;

  function arrived(conv, message) {
    if (!message.self && !message.system) {
      message.mention = conv.type === "dm" || mentions(message.text, store.nick);
      const seen = store.active === conv.key && !document.hidden;
      if (!seen && !page.notifier.isMuted(conv)) {
        conv.unread += 1;
        if (message.mention) conv.mentions += 1;
        if (message.mention) page.notifier.notify(conv, message);
      }
    }
    page.changed(conv);
  }

  return {
    message(ev) {
      const conv = ev.room ? store.get("room", ev.room, false) : store.get("dm", ev.nick);
      if (!conv || !conv.joined) return;
      if (ev.self && conv.confirm(ev)) {
        page.changed(conv);
        return;
      }
      if (conv.typing && conv.typing.size) page.typing.received(conv, ev.from, "done"); // they sent it
      if (conv.add(ev, true)) arrived(conv, ev);
    },

    history(ev) {
      const conv = ev.room ? store.get("room", ev.room, false) : store.get("dm", ev.nick);
      if (!conv) return;
      for (const m of ev.messages) {
        if (!m.self) m.mention = conv.type === "dm" || mentions(m.text, store.nick);
      }
      const added = conv.merge(ev.messages, (m) => conv.confirm(m));
      const asked = page.olderAsked === conv.key ? page.olderLimit : page.historyLimit;
      if (page.olderAsked === conv.key) {
        page.olderAsked = null;
        if (store.active === conv.key) page.list.reveal(added);
      }
      conv.hasEarlier = ev.messages.length >= asked; // a full page: there may be more before it
      page.changed(conv);
      page.afterHistory(conv); // a linked or searched message may have arrived (jump.js)
    },

    join(ev) {
      const conv = store.get("room", ev.room);
      if (ev.self) {
        const wasJoined = conv.joined;
        conv.joined = true;
        conv.topic = ""; // the server sends the topic (if any) right after: no stale one survives
        conv.members.clear();
        if (!store.active || page.pendingOpen === fold(ev.room)) {
          page.pendingOpen = null;
          page.select(conv);
        }
        if (!wasJoined) {
          conv.system(`You joined ${ev.room}`); // an empty room is not a blank page: where you are
          page.save();
        }
        page.changed(conv, { header: true, members: true });
        return;
      }
      conv.members.set(fold(ev.nick), { nick: ev.nick, modes: "" });
      conv.event("join", ev.nick);
      page.changed(conv, { members: true });
    },

    part(ev) {
      const conv = store.get("room", ev.room, false);
      if (!conv) return;
      const reason = ev.reason ? ` (${ev.reason})` : "";
      if (ev.self) {
        if (ev.by) {
          conv.joined = false;
          conv.system(`You were kicked by ${ev.by}${reason}`);
        } else {
          const wasOpen = store.active === conv.key;
          store.remove(conv);
          if (wasOpen) page.select(store.activeConversation()); // else the view stays as it is
        }
        page.save();
        page.changed(conv, { header: true, members: true });
        return;
      }
      conv.members.delete(fold(ev.nick));
      if (ev.by) conv.system(`${ev.nick} was kicked by ${ev.by}${reason}`);
      else conv.event("part", ev.nick, ev.reason);
      page.changed(conv, { members: true });
    },

    quit(ev) {
      for (const conv of store.withMember(ev.nick)) {
        conv.members.delete(fold(ev.nick));
        conv.event("quit", ev.nick, ev.reason);
        page.changed(conv, { members: true });
      }
    },

    nick(ev) {
      if (ev.self) {
        store.nick = ev.new;
        page.save();
      }
      for (const conv of store.withMember(ev.old)) {
        const member = conv.members.get(fold(ev.old));
        if (member) {
          conv.members.delete(fold(ev.old));
          conv.members.set(fold(ev.new), { nick: ev.new, modes: member.modes });
        }
        conv.event("nick", ev.old, ev.new);
        page.changed(conv, { members: true });
      }
      const dm = store.renameDm(ev.old, ev.new); // the private conversation follows the person
      if (dm) page.changed(dm, { header: true });
      page.changed(null, { me: true });
    },

    mode(ev) {
      const conv = store.get("room", ev.room, false);
      if (!conv) return;
      conv.event("mode", ev.by, [ev.modes, ...(ev.args || [])].join(" "));
      page.changed(conv);
    },

    names(ev) {
      const conv = store.get("room", ev.room, false);
      if (!conv) return;
      conv.members = new Map(ev.members.map((m) => [fold(m.nick), m]));
      page.changed(conv, { members: true });
    },

    topic(ev) {
      const conv = store.get("room", ev.room, false);
      if (!conv) return;
      conv.topic = ev.text;
      if (ev.by) conv.system(`${ev.by} set the topic: ${ev.text}`);
      page.changed(conv, { header: true });
    },
  };
}
