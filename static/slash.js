// Turn what the user typed into a /ws command (pure: no DOM, no socket).
//
// Returns {command} to send, {local} for page-only actions, or {error} for a usage message.

export const USAGE = {
  me: "/me <action>",
  nick: "/nick <new nick>",
  join: "/join <#room>",
  part: "/part [#room] [reason]",
  topic: "/topic <text>",
  msg: "/msg <nick> <text>",
};

/** The commands (with their usage) that what was typed so far could be, for the hint under the box. */
export function commandHints(text) {
  const m = /^\/(\S*)$/.exec(text);
  if (!m) return [];
  const typed = m[1].toLowerCase();
  return Object.entries(USAGE).filter(([name]) => name.startsWith(typed)).map(([, usage]) => usage);
}

export function isRoom(name) {
  return typeof name === "string" && (name.startsWith("#") || name.startsWith("&"));
}

export function roomName(word) {
  return isRoom(word) ? word : "#" + word;
}

/**
 * @param {string} input  the text typed
 * @param {{type: "room"|"dm", name: string}|null} target  the open conversation
 */
export function parseInput(input, target) {
  const text = input.replace(/\s+$/, "");
  if (!text.trim()) return { error: null };
  const dest = target ? (target.type === "room" ? { room: target.name } : { nick: target.name }) : null;
  if (!text.startsWith("/") || text.startsWith("//")) {
    if (!dest) return { error: "Join a room first: /join #lobby" };
    const body = text.startsWith("//") ? text.slice(1) : text;
    return { command: { type: "send", ...dest, text: body } };
  }
  const [, verb = "", rest = ""] = text.match(/^\/(\S*)\s*([\s\S]*)$/) || [];
  const args = rest.trim();
  switch (verb.toLowerCase()) {
    case "me":
      if (!args) return { error: USAGE.me };
      if (!dest) return { error: "Join a room first: /join #lobby" };
      return { command: { type: "send", ...dest, text: args, kind: "action" } };
    case "nick":
      if (!args || /\s/.test(args)) return { error: USAGE.nick };
      return { command: { type: "nick", nick: args } };
    case "join":
    case "j":
      if (!args || /\s/.test(args)) return { error: USAGE.join };
      return { command: { type: "join", room: roomName(args) }, local: { open: roomName(args) } };
    case "part":
    case "leave": {
      const [first = "", ...more] = args.split(/\s+/);
      if (isRoom(first)) return { command: { type: "part", room: first, reason: more.join(" ") } };
      if (!target || target.type !== "room") return { error: USAGE.part };
      return { command: { type: "part", room: target.name, reason: args } };
    }
    case "topic":
      if (!target || target.type !== "room") return { error: "Open a room to set its topic" };
      return { command: { type: "topic", room: target.name, text: args } };
    case "msg":
    case "query": {
      const m = args.match(/^(\S+)\s+([\s\S]+)$/);
      if (!m) return { error: USAGE.msg };
      const to = m[1];
      const dest2 = isRoom(to) ? { room: to } : { nick: to };
      return { command: { type: "send", ...dest2, text: m[2] }, local: { openDm: isRoom(to) ? null : to } };
    }
    default:
      return { error: `Unknown command /${verb}. Try ${Object.values(USAGE).join(", ")}` };
  }
}

const encoder = new TextEncoder();

/** True when the gateway would need more than `limits.lines` IRC lines for this text (it splits
 * at newlines, then every `limits.bytes` UTF-8 bytes, on a space when it can; blank lines dropped).
 * Checked before sending so a long text stays in the box instead of being refused after. */
export function tooLong(text, limits) {
  let count = 0;
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/\s+$/, "");
    if (line) count += Math.ceil(encoder.encode(line).length / limits.bytes);
  }
  return count > limits.lines;
}
