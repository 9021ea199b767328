// Handlers of the extension events (built in web_gateway/extensions.py): `react` adds a reaction
// under its message, `redact` takes a deleted message away, `typing` feeds typing.js.

/** Handlers for react, redact and typing; `page` is the app's shared state (see app.js). */
export function extraHandlers(page) {
  const { store } = page;
  const conversationOf = (ev) => (ev.room ? store.get("room", ev.room, false) : store.get("dm", ev.nick, false));

  return {
    react(ev) {
      const conv = conversationOf(ev);
      const message = conv && conv.byId(ev.msgid);
      if (!message) return; // not loaded here: nothing to count it under
      const reactions = message.reactions || (message.reactions = {});
      const nicks = reactions[ev.emoji] || (reactions[ev.emoji] = []);
      if (nicks.some((n) => n.toLowerCase() === ev.from.toLowerCase())) return;
      nicks.push(ev.from);
      conv.changed.add(message);
      page.changed(conv);
    },

    redact(ev) {
      const conv = conversationOf(ev);
      const message = conv && conv.byId(ev.msgid);
      if (!message) return;
      conv.drop(message); // its id stays known, so a late history page does not bring it back
      if (page.replyTo && page.replyTo.id === ev.msgid) page.cancelReply();
      page.changed(conv);
    },

    typing(ev) {
      const conv = conversationOf(ev);
      if (conv) page.typing.received(conv, ev.from, ev.state);
    },
  };
}
