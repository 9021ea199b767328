// The page's WebSocket to the gateway: JSON in and out, reconnecting by itself with backoff.

const INITIAL_DELAY_MS = 500;

export class GatewayConnection {
  /**
   * @param {string} url  ws:// or wss:// URL of /ws
   * @param {{onEvent: Function, onOpen: Function, onDown: Function}} handlers
   * @param {number} maxDelayMs  longest wait between reconnect attempts
   */
  constructor(url, handlers, maxDelayMs) {
    this.url = url;
    this.handlers = handlers;
    this.maxDelayMs = maxDelayMs;
    this.delay = INITIAL_DELAY_MS;
    this.socket = null;
    this.timer = null;
    this.stopped = false;
  }

  open() {
    this.stopped = false;
    clearTimeout(this.timer);
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = INITIAL_DELAY_MS;
      this.handlers.onOpen();
    });
    socket.addEventListener("message", (msg) => {
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
      this.handlers.onEvent(event);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      // Jitter spreads the reconnects of many pages after a gateway restart.
      const wait = this.delay / 2 + Math.random() * (this.delay / 2);
      this.delay = Math.min(this.delay * 2, this.maxDelayMs);
      this.handlers.onDown(wait);
      this.timer = setTimeout(() => this.open(), wait);
    });
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  send(command) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(command));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
  }
}
