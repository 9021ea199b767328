// The message list of the conversation in view, drawn incrementally and bounded.
//
// The document holds a window of the conversation's messages: the last WINDOW while the user
// follows the latest lines, or a stretch of at most MAX_DOM around where they scrolled to; more
// are added (and the far side trimmed) when they scroll to an edge. Each frame reconciles the
// window with the nodes in place: new messages are appended, changed ones (a confirmed own line)
// replaced in place, nothing else is touched. The scroll position stays on the same line while
// nodes come and go above it.

import { contextOf, messageItem } from "./messageview.js";

export const WINDOW = 200; // messages in the document while following the latest
export const MAX_DOM = 400; // most messages in the document
const CHUNK = 100; // messages added when the user scrolls to an edge of the window
const EDGE_PX = 300; // "near the top/bottom" of the scrolled list
const BOTTOM_PX = 30; // within this of the bottom counts as "at the bottom" (follows new lines)

export class MessageList {
  /**
   * @param {HTMLElement} list  the <ol> of messages
   * @param {() => void} schedule  asks for a frame (scrolling to an edge needs one)
   * @param {(state: {newer: number, atTop: boolean}) => void} onState  after each frame
   */
  constructor(list, schedule, onState) {
    this.list = list;
    this.schedule = schedule;
    this.onState = onState;
    this.conv = null;
    this.onTop = null; // () => void: the user scrolled up to the oldest line the page holds
    this.rendered = []; // message objects in document order
    this.nodes = new Map(); // message -> <li>
    this.following = true;
    this.toEnd = true; // the last frame drew the conversation up to its latest line
    this.shift = 0; // messages to move the window by at the next frame (- up, + down)
    this.center = null; // a message to bring into view at the next frame (focusOn)
    this.lastTop = 0;
    this.lastHeight = 0;
    list.addEventListener("scroll", () => this.onScroll(), { passive: true });
    // The box grows, a phone keyboard opens: the list gets shorter; the latest line stays in view.
    new ResizeObserver(() => {
      if (this.following) list.scrollTop = list.scrollHeight;
      this.lastTop = list.scrollTop;
      this.lastHeight = list.clientHeight;
    }).observe(list);
  }

  /** Show another conversation: the next frame draws it from scratch, at its latest lines. */
  show(conv) {
    this.conv = conv;
    this.list.dataset.kind = conv ? conv.type : ""; // "dm": every line is for you, none is tinted
    this.rendered = [];
    this.nodes.clear();
    this.list.replaceChildren();
    this.following = true;
    this.shift = 0;
    if (conv) conv.changed.clear();
  }

  atBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < BOTTOM_PX;
  }

  onScroll() {
    if (!this.conv) return;
    const l = this.list;
    const msgs = this.conv.messages;
    // Lines that arrived since the last frame do not count: they are drawn at the next one.
    const showsLatest = this.toEnd;
    const wasFollowing = this.following;
    // The user scrolled up; not the list growing taller (the box shrank), which also lowers scrollTop.
    const up = l.scrollTop < this.lastTop - 1 && l.clientHeight <= this.lastHeight;
    this.lastTop = l.scrollTop;
    this.lastHeight = l.clientHeight;
    if (this.atBottom() && showsLatest) this.following = true;
    else if (up || !showsLatest) this.following = false;
    if (l.scrollTop < EDGE_PX && this.rendered.length && this.rendered[0] !== msgs[0]) {
      this.shift = -CHUNK;
      this.schedule();
    } else if (l.scrollTop < EDGE_PX && up && this.onTop) {
      this.onTop(); // everything in memory is shown: the app may ask the server for older lines
    } else if (l.scrollHeight - l.scrollTop - l.clientHeight < EDGE_PX && !showsLatest) {
      this.shift = CHUNK;
      this.schedule();
    } else if (wasFollowing !== this.following) {
      this.schedule();
    }
  }

  /** Older lines were merged in above the window ("Load earlier"): show them. */
  reveal(count) {
    if (!this.following && count > 0) this.shift = -count;
    this.schedule();
  }

  /** Bring `message` (of the conversation shown) into view and flash it: a reply's original,
   * a search result, a linked message. */
  focusOn(message) {
    this.center = message;
    this.following = false;
    this.schedule();
  }

  /** The message a list item shows (actions.js puts its toolbar there). */
  messageOf(node) {
    return node.msg || null;
  }

  /** Jump to the latest lines (the "jump to latest" button). */
  jumpToLatest() {
    this.following = true;
    this.shift = 0;
    this.schedule();
  }

  /** The slice of conv.messages the document should hold now: [start, end). */
  range() {
    const msgs = this.conv.messages;
    const n = msgs.length;
    const at = this.center ? msgs.indexOf(this.center) : -1;
    if (at >= 0) {
      const start = Math.max(0, Math.min(at - CHUNK, n - MAX_DOM));
      return [start, Math.min(n, start + MAX_DOM)];
    }
    if (this.following || !this.rendered.length) return [Math.max(0, n - WINDOW), n];
    let start = msgs.indexOf(this.rendered[0]);
    if (start < 0) start = 0; // the first rendered line was trimmed from memory
    start = Math.max(0, Math.min(start + this.shift, n - 1));
    let end = Math.min(n, start + MAX_DOM);
    if (this.shift > 0) {
      end = Math.min(n, msgs.indexOf(this.rendered[this.rendered.length - 1]) + 1 + this.shift);
      start = Math.max(0, end - MAX_DOM);
    }
    return [start, end];
  }

  /** A message that stays in the document across this frame, and where its line (not a day rule
   * above it, which may come or go) sits in the viewport. */
  anchor(keep) {
    const top = this.list.scrollTop;
    for (const m of this.rendered) {
      const node = this.nodes.get(m);
      if (keep.has(m) && node.offsetTop + node.offsetHeight > top) {
        return { message: m, offset: node.querySelector(".line").offsetTop - top };
      }
    }
    return null;
  }

  /** Bring the document in line with the model (once per frame). */
  render() {
    const conv = this.conv;
    if (!conv) return;
    const msgs = conv.messages;
    const [start, end] = this.range();
    this.shift = 0;
    const want = msgs.slice(start, end);
    const keep = new Set(want);
    const anchor = this.following || this.center ? null : this.anchor(keep);
    for (const m of this.rendered) {
      if (!keep.has(m)) {
        this.nodes.get(m).remove();
        this.nodes.delete(m);
      }
    }
    let cursor = this.list.firstElementChild;
    let previous = start > 0 ? msgs[start - 1] : null;
    for (const m of want) {
      const ctx = contextOf(m, previous, m === conv.firstUnread);
      previous = m;
      let node = this.nodes.get(m);
      if (node && (conv.changed.has(m) || node.ctxKey !== ctx.key)) {
        const fresh = messageItem(m, ctx);
        fresh.msg = m;
        node.replaceWith(fresh);
        if (cursor === node) cursor = fresh;
        node = fresh;
        this.nodes.set(m, node);
      }
      if (!node) {
        node = messageItem(m, ctx);
        node.msg = m;
        this.nodes.set(m, node);
        this.list.insertBefore(node, cursor);
      } else if (node === cursor) {
        cursor = cursor.nextElementSibling;
      } else {
        this.list.insertBefore(node, cursor); // out of place (rare: a line older than its neighbours)
      }
    }
    conv.changed.clear();
    this.rendered = want;
    this.toEnd = end === msgs.length;
    const center = this.center && this.nodes.get(this.center);
    this.center = null;
    if (center) {
      center.scrollIntoView({ block: "center" });
      center.classList.remove("flash");
      void center.offsetWidth; // restart the animation when the same line is asked for again
      center.classList.add("flash");
    } else if (this.following) {
      this.list.scrollTop = this.list.scrollHeight;
    } else if (anchor) {
      // its node may have been redrawn (a day rule above it went away): use the current one
      this.list.scrollTop = this.nodes.get(anchor.message).querySelector(".line").offsetTop - anchor.offset;
    }
    this.lastTop = this.list.scrollTop;
    this.lastHeight = this.list.clientHeight;
    this.onState({ newer: msgs.length - end, atTop: start === 0 });
  }
}

/** Runs `work` once per animation frame however often `schedule` is called in between: the
 * events that arrive between two frames are drawn together. A hidden tab gets no frames; a timer
 * stands in so counters and the title still move. */
export function frameScheduler(work, hiddenDelayMs = 250) {
  let queued = false;
  const run = () => {
    queued = false;
    work();
  };
  return () => {
    if (queued) return;
    queued = true;
    if (document.hidden) setTimeout(run, hiddenDelayMs);
    else requestAnimationFrame(run);
  };
}
