// The message box: Enter sends, Shift+Enter adds a line, the box grows to five lines, Up/Down walk
// back through what was sent in this conversation (Up on an empty box brings back the last line
// to edit and send again), Tab completes nicks, #rooms and /commands.

import { commandHints } from "./slash.js";

const MAX_ROWS = 5;
const HISTORY = 100; // lines remembered per conversation
const COMMANDS = ["/join", "/part", "/me", "/nick", "/topic", "/msg"];
const GROWS_BY_ITSELF = CSS.supports("field-sizing", "content"); // chat.css sizes the box to its text

export class Composer {
  /**
   * @param {HTMLTextAreaElement} input
   * @param {{submit: () => void, candidates: () => {nicks: string[], rooms: string[]}, key: () => string}} hooks
   */
  constructor(input, hooks) {
    this.input = input;
    this.hooks = hooks;
    this.sent = new Map(); // conversation key -> lines sent, oldest first
    this.walk = null; // {key, index, draft} while walking back with Up/Down
    this.completion = null; // {start, options, index} while cycling with Tab
    input.addEventListener("keydown", (e) => this.onKey(e));
    input.addEventListener("input", () => {
      this.walk = null;
      this.completion = null;
      this.grow();
      this.hint();
    });
  }

  grow() {
    if (GROWS_BY_ITSELF) return;
    const input = this.input;
    input.style.height = "auto";
    const line = parseFloat(getComputedStyle(input).lineHeight) || 20;
    const pad = input.offsetHeight - input.clientHeight + 12;
    input.style.height = `${Math.min(input.scrollHeight, line * MAX_ROWS + pad)}px`;
  }

  set(text) {
    this.input.value = text;
    this.input.setSelectionRange(text.length, text.length);
    this.grow();
    this.hint();
  }

  /** Typing "/" lists the commands (and their arguments) that match so far. */
  hint() {
    const hints = commandHints(this.input.value);
    const box = document.getElementById("composer-hint");
    box.textContent = hints.join("   ");
    box.hidden = hints.length === 0;
  }

  /** Remember a line that was sent (Up brings it back). */
  remember(text) {
    const key = this.hooks.key();
    const lines = this.sent.get(key) || [];
    if (lines[lines.length - 1] !== text) lines.push(text);
    if (lines.length > HISTORY) lines.shift();
    this.sent.set(key, lines);
    this.walk = null;
  }

  onKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.hooks.submit();
      return;
    }
    if (e.key === "Tab" && !e.altKey && !e.ctrlKey && !e.metaKey) {
      if (this.complete(e.shiftKey ? -1 : 1)) e.preventDefault();
      return;
    }
    if (e.key !== "Tab" && e.key !== "Shift") this.completion = null;
    if ((e.key === "ArrowUp" || e.key === "ArrowDown") && !e.altKey && !e.shiftKey) {
      const { value, selectionStart, selectionEnd } = this.input;
      const onFirst = !value.slice(0, selectionStart).includes("\n");
      const onLast = !value.slice(selectionEnd).includes("\n");
      if ((e.key === "ArrowUp" && onFirst && (!value || this.walk)) || (e.key === "ArrowDown" && onLast && this.walk)) {
        if (this.step(e.key === "ArrowUp" ? -1 : 1)) e.preventDefault();
      }
    }
  }

  /** Move through the conversation's sent lines; the draft comes back after the newest. */
  step(direction) {
    const key = this.hooks.key();
    const lines = this.sent.get(key) || [];
    if (!lines.length) return false;
    if (!this.walk || this.walk.key !== key) this.walk = { key, index: lines.length, draft: this.input.value };
    const index = Math.max(0, Math.min(lines.length, this.walk.index + direction));
    if (index === this.walk.index) return true;
    this.walk.index = index;
    const walk = this.walk;
    this.set(index === lines.length ? walk.draft : lines[index]);
    this.walk = walk; // set() fired no input event, but keep the walk explicitly
    return true;
  }

  /** Complete the word before the cursor; repeated Tabs cycle through the matches. */
  complete(direction) {
    const input = this.input;
    if (!this.completion) {
      const before = input.value.slice(0, input.selectionStart);
      const word = /[^\s]*$/.exec(before)[0];
      if (!word) return false;
      const start = before.length - word.length;
      const { nicks, rooms } = this.hooks.candidates();
      const lower = word.toLowerCase();
      let pool = nicks;
      if (word.startsWith("#") || word.startsWith("&")) pool = rooms;
      else if (word.startsWith("/") && start === 0) pool = COMMANDS;
      const options = pool.filter((c) => c.toLowerCase().startsWith(lower) && c.toLowerCase() !== lower);
      if (!options.length) return false;
      const suffix = pool === nicks && start === 0 ? ": " : " ";
      this.completion = { start, end: input.selectionStart, options, index: direction > 0 ? -1 : 0, suffix };
    }
    const c = this.completion;
    c.index = (c.index + direction + c.options.length) % c.options.length;
    const text = c.options[c.index] + c.suffix;
    const value = input.value;
    input.value = value.slice(0, c.start) + text + value.slice(c.end);
    c.end = c.start + text.length;
    input.setSelectionRange(c.end, c.end);
    this.hint();
    return true;
  }
}
