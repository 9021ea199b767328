// Message text to DOM nodes: IRC formatting (bold, italic, underline, strike, monospace, colours)
// becomes spans with classes, http(s) URLs become links, the control codes themselves are dropped.
// Every piece of user text is inserted with textContent (never innerHTML): markup stays text.

const BOLD = "\x02", ITALIC = "\x1d", UNDERLINE = "\x1f", STRIKE = "\x1e", MONO = "\x11";
const COLOR = "\x03", HEX_COLOR = "\x04", REVERSE = "\x16", RESET = "\x0f";
const CONTROL = /[\x02\x1d\x1f\x1e\x11\x03\x04\x16\x0f]/;
const URL = /\bhttps?:\/\/[^\s<>"'\u0000-\u001f]+/gi;
const TRAILING = /[.,;:!?)\]}'"]/; // "see https://x.org/a." : the dot is not part of the link

/** Text without IRC formatting codes (for titles, notifications, comparisons). */
export function stripFormatting(text) {
  return text
    .replace(/\x03(\d{1,2}(,\d{1,2})?)?/g, "")
    .replace(/\x04([0-9a-f]{6}(,[0-9a-f]{6})?)?/gi, "")
    .replace(/[\x02\x1d\x1f\x1e\x11\x16\x0f]/g, "");
}

/** Split text into runs of one style: [{text, bold, italic, underline, strike, mono, fg, bg}]. */
export function styleRuns(text) {
  const runs = [];
  let style = {};
  let buf = "";
  const flush = () => {
    if (buf) runs.push({ text: buf, ...style });
    buf = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (!CONTROL.test(ch)) {
      buf += ch;
      continue;
    }
    flush();
    if (ch === BOLD) style = { ...style, bold: !style.bold };
    else if (ch === ITALIC) style = { ...style, italic: !style.italic };
    else if (ch === UNDERLINE) style = { ...style, underline: !style.underline };
    else if (ch === STRIKE) style = { ...style, strike: !style.strike };
    else if (ch === MONO) style = { ...style, mono: !style.mono };
    else if (ch === RESET) style = {};
    else if (ch === REVERSE) style = { ...style, fg: style.bg, bg: style.fg };
    else if (ch === COLOR) {
      const m = /^(\d{1,2})(?:,(\d{1,2}))?/.exec(text.slice(i + 1));
      if (!m) {
        style = { ...style, fg: undefined, bg: undefined };
      } else {
        style = { ...style, fg: Number(m[1]) % 16, bg: m[2] === undefined ? style.bg : Number(m[2]) % 16 };
        i += m[0].length;
      }
    } else if (ch === HEX_COLOR) {
      const m = /^[0-9a-f]{6}(?:,[0-9a-f]{6})?/i.exec(text.slice(i + 1));
      if (m) i += m[0].length; // hex colours are dropped: the 16 themed colours keep contrast
    }
  }
  flush();
  return runs;
}

function link(url) {
  const a = document.createElement("a");
  a.href = url; // only http(s) URLs get here (the URL pattern), never javascript:
  a.textContent = url;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

/** Text with URLs as links: a list of nodes (Text and <a>). */
export function linkify(text) {
  const nodes = [];
  let at = 0;
  for (const match of text.matchAll(URL)) {
    let url = match[0];
    while (TRAILING.test(url.slice(-1))) {
      const last = url.slice(-1);
      if (last === ")" && url.split("(").length > url.split(")").length - 1) break; // "a_(b)" keeps it
      url = url.slice(0, -1);
    }
    if (match.index > at) nodes.push(document.createTextNode(text.slice(at, match.index)));
    nodes.push(link(url));
    at = match.index + url.length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/** The nodes for a message's text: styled runs, each with its links. */
export function formatText(text) {
  if (!CONTROL.test(text)) return linkify(text);
  const nodes = [];
  for (const run of styleRuns(text)) {
    const classes = [];
    if (run.bold) classes.push("f-bold");
    if (run.italic) classes.push("f-italic");
    if (run.underline) classes.push("f-underline");
    if (run.strike) classes.push("f-strike");
    if (run.mono) classes.push("f-mono");
    if (run.fg !== undefined) classes.push(`fg-${run.fg}`);
    if (run.bg !== undefined) classes.push(`bg-${run.bg}`);
    if (!classes.length) {
      nodes.push(...linkify(run.text));
      continue;
    }
    const span = document.createElement("span");
    span.className = classes.join(" ");
    span.append(...linkify(run.text));
    nodes.push(span);
  }
  return nodes;
}

/** A stable colour class per nick (djb2 of the lowercase nick, 16 colours themed in CSS). */
export function nickColor(nick) {
  let h = 5381;
  const s = nick.toLowerCase();
  for (let i = 0; i < s.length; i++) h = ((h << 5) + h + s.charCodeAt(i)) >>> 0;
  return `nick-${h % 16}`;
}
