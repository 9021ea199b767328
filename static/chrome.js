// Page furniture: the phone drawers (rooms, members) that close by button, by a tap outside and by
// Escape; keyboard shortcuts; typing anywhere goes to the message box; the light/dark theme switch.

const $ = (id) => document.getElementById(id);
const THEME_KEY = "tcpchat.theme"; // localStorage: "light", "dark" or absent (follow the system)
const THEMES = ["auto", "light", "dark"];
const DRAWERS = { members: "members-toggle", rooms: "rooms-toggle" };

function setDrawer(name, open) {
  document.body.classList.toggle(`${name}-open`, open);
  $(DRAWERS[name]).setAttribute("aria-expanded", String(open));
  $("drawer-overlay").hidden = !document.body.classList.contains("members-open") &&
    !document.body.classList.contains("rooms-open");
}

/** The phone's "⋯" menu of room actions (Search, Mute, Leave). */
function setMore(open) {
  document.body.classList.toggle("more-open", open);
  $("more-toggle").setAttribute("aria-expanded", String(open));
}

export function closeDrawers() {
  const open = document.body.classList.contains("members-open") || document.body.classList.contains("rooms-open") ||
    document.body.classList.contains("more-open");
  setDrawer("members", false);
  setDrawer("rooms", false);
  setMore(false);
  return open;
}

function applyTheme(theme) {
  if (theme === "auto") {
    delete document.documentElement.dataset.theme;
    localStorage.removeItem(THEME_KEY);
  } else {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }
  const button = $("theme-button");
  button.textContent = { auto: "Theme: system", light: "Theme: light", dark: "Theme: dark" }[theme];
  button.dataset.theme = theme;
}

export function setupChrome(page) {
  $("members-toggle").addEventListener("click", () => {
    setDrawer("members", !document.body.classList.contains("members-open"));
    setDrawer("rooms", false);
  });
  $("rooms-toggle").addEventListener("click", () => {
    setDrawer("rooms", !document.body.classList.contains("rooms-open"));
    setDrawer("members", false);
  });
  $("members-close").addEventListener("click", closeDrawers);
  // A click (or Enter) on the clamped topic shows all of it; a link in it opens as usual.
  const topic = $("room-topic");
  const toggleTopic = () => topic.classList.toggle("open");
  topic.addEventListener("click", (e) => {
    if (!(e.target instanceof Element && e.target.closest("a"))) toggleTopic();
  });
  topic.addEventListener("keydown", (e) => {
    if (e.target === topic && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      toggleTopic();
    }
  });
  $("more-toggle").addEventListener("click", (e) => {
    e.stopPropagation(); // the document's click below would close it again
    const open = !document.body.classList.contains("more-open");
    setMore(open);
    if (open) $("room-actions").querySelector("button:not([hidden])")?.focus();
  });
  // Choosing an action or tapping anywhere else closes the menu.
  document.addEventListener("click", () => setMore(false));
  $("drawer-overlay").addEventListener("click", closeDrawers);

  applyTheme(localStorage.getItem(THEME_KEY) || "auto");
  $("theme-button").addEventListener("click", () => {
    const now = $("theme-button").dataset.theme;
    applyTheme(THEMES[(THEMES.indexOf(now) + 1) % THEMES.length]);
  });

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      if (document.body.classList.contains("more-open")) {
        setMore(false); // back to the "⋯" button the menu came from
        $("more-toggle").focus();
        return;
      }
      if (!closeDrawers()) $("message-input").focus();
      return;
    }
    if (e.altKey && e.code === "KeyA") {
      // Alt+A: the first conversation with a mention, else the first with unread lines.
      const convs = page.store.ordered();
      const next = convs.find((c) => c.mentions > 0) || convs.find((c) => c.unread > 0);
      if (next) page.select(next, true);
      e.preventDefault();
      return;
    }
    if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
      const convs = page.store.ordered();
      if (!convs.length) return;
      const at = Math.max(0, convs.findIndex((c) => c.key === page.store.active));
      const step = e.key === "ArrowDown" ? 1 : convs.length - 1;
      page.select(convs[(at + step) % convs.length], true);
      e.preventDefault();
      return;
    }
    // A printable key typed while nothing editable has focus goes to the message box.
    const target = e.target;
    const editing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      (target instanceof HTMLElement && target.isContentEditable);
    if (!editing && e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey && !$("chat").hidden) {
      $("message-input").focus();
    }
  });
}
