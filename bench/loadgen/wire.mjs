// A lean Socket.IO client for the load generator's players: Engine.IO v4 / Socket.IO v5
// text frames over one WebSocket (the `ws` package), the default namespace only.
//
// Why: on a 2-core machine the generator shares the cores with the servers it measures.
// socket.io-client spends most of a player's CPU on its own layers (engine.io-client's
// transport and packet objects, socket.io-parser's decoder and binary checks, emitter
// chains); a burst of 2,000 answers and acks then makes the generator, not the server,
// late. The server cannot tell the two clients apart: the frames on the wire are the
// same. This class keeps the part of socket.io-client's API the player pool uses:
// on(), timeout(ms).emit(event, data, ack), disconnect(), a mutable `auth`, and
// reconnection with back-off (a reconnect sends the current `auth`, e.g. a player token).
//
// What it does not do: long-polling, binary packets, other namespaces, buffering of
// emits while disconnected (an emit then fails at once, as an ack error).

import WebSocket from "ws";

const OPEN = "0";
const CLOSE = "1";
const PING = "2";
const PONG = "3";
const MESSAGE = "4";
// Socket.IO packet types, after the Engine.IO MESSAGE type
const CONNECT = "0";
const DISCONNECT = "1";
const EVENT = "2";
const ACK = "3";
const CONNECT_ERROR = "4";

/** The WebSocket URL of a Socket.IO server at `url` (http[s]://host:port), with `query`. */
export function socketUrl(url, query = {}) {
  const u = new URL(url);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = "/socket.io/";
  u.search = "";
  u.searchParams.set("EIO", "4");
  u.searchParams.set("transport", "websocket");
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, String(v));
  return u.toString();
}

/** Splits the text after "43" (an ACK) into its id and its JSON arguments. */
export function parseAck(body) {
  let i = 0;
  while (i < body.length && body.charCodeAt(i) >= 48 && body.charCodeAt(i) <= 57) i++;
  return { id: Number(body.slice(0, i)), args: JSON.parse(body.slice(i)) };
}

export class WireSocket {
  constructor(url, { auth = {}, query = {}, reconnection = true, reconnectionDelay = 500,
    reconnectionDelayMax = 3000, timeout = 20000 } = {}) {
    this.url = socketUrl(url, query);
    this.auth = auth;
    this.reconnection = reconnection;
    this.reconnectionDelay = reconnectionDelay;
    this.reconnectionDelayMax = reconnectionDelayMax;
    this.connectTimeout = timeout;
    this.handlers = new Map();
    this.acks = new Map(); // id -> {cb, timer}
    this.nextId = 0;
    this.connected = false;
    this.closedByUs = false;
    this.serverDisconnected = false;
    this.attempts = 0;
    this.ws = null;
    this.open();
  }

  on(event, handler) {
    this.handlers.set(event, handler); // one handler an event is all the pool needs
    return this;
  }

  fire(event, arg) {
    const handler = this.handlers.get(event);
    if (handler) handler(arg);
  }

  open() {
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    this.ws = ws;
    // the whole handshake (WebSocket, then Socket.IO's CONNECT) within the timeout
    const timer = setTimeout(() => {
      if (!this.connected) {
        this.fire("connect_error", new Error("timeout"));
        ws.terminate();
      }
    }, this.connectTimeout);
    this.connectTimer = timer;
    ws.on("message", (data) => this.receive(data.toString()));
    ws.on("error", (err) => {
      if (!this.connected) this.fire("connect_error", err);
    });
    ws.on("close", () => {
      clearTimeout(timer);
      this.closed();
    });
  }

  receive(text) {
    const type = text[0];
    if (type === MESSAGE) {
      const kind = text[1];
      if (kind === EVENT) {
        const args = JSON.parse(text.slice(2));
        this.fire(args[0], args[1]);
      } else if (kind === ACK) {
        const { id, args } = parseAck(text.slice(2));
        const pending = this.acks.get(id);
        if (!pending) return;
        this.acks.delete(id);
        clearTimeout(pending.timer);
        pending.cb(null, args[0]);
      } else if (kind === CONNECT) {
        clearTimeout(this.connectTimer);
        this.connected = true;
        this.attempts = 0;
        this.fire("connect");
      } else if (kind === CONNECT_ERROR) {
        const err = JSON.parse(text.slice(2));
        const error = new Error(err?.message || "connect_error");
        error.data = err?.data;
        // a refusal by the server: socket.io-client does not retry these, nor does this
        this.reconnection = false;
        this.fire("connect_error", error);
        this.ws.close();
      } else if (kind === DISCONNECT) {
        // the server ended the session (a kick, the game's end): like socket.io-client,
        // report "io server disconnect" and do not reconnect
        this.serverDisconnected = true;
        this.ws.close();
      }
    } else if (type === PING) {
      this.ws.send(PONG);
    } else if (type === OPEN) {
      this.ws.send(MESSAGE + CONNECT + JSON.stringify(this.auth));
    } else if (type === CLOSE) {
      this.ws.close();
    }
  }

  closed() {
    const wasConnected = this.connected;
    this.connected = false;
    for (const [id, pending] of this.acks) {
      clearTimeout(pending.timer);
      pending.cb(new Error("disconnected"));
      this.acks.delete(id);
    }
    const reason = this.closedByUs ? "io client disconnect"
      : this.serverDisconnected ? "io server disconnect" : "transport close";
    if (wasConnected) this.fire("disconnect", reason);
    if (this.closedByUs || this.serverDisconnected || !this.reconnection) return;
    const delay = Math.min(this.reconnectionDelay * 2 ** this.attempts, this.reconnectionDelayMax);
    this.attempts += 1;
    setTimeout(() => { if (!this.closedByUs) this.open(); }, delay);
  }

  timeout(ms) {
    return { emit: (event, data, cb) => this.emit(event, data, cb, ms) };
  }

  emit(event, data, cb, timeoutMs = 0) {
    if (!this.connected) {
      if (cb) cb(new Error("not connected"));
      return;
    }
    let head = MESSAGE + EVENT;
    if (cb) {
      const id = this.nextId++;
      head += id;
      const timer = timeoutMs > 0 ? setTimeout(() => {
        if (this.acks.delete(id)) cb(new Error("operation has timed out"));
      }, timeoutMs) : null;
      this.acks.set(id, { cb, timer });
    }
    this.ws.send(head + JSON.stringify([event, data]));
  }

  disconnect() {
    this.closedByUs = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      if (this.connected) this.ws.send(MESSAGE + DISCONNECT);
      this.ws.close();
    }
  }
}
