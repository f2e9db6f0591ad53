// Switchboard's own Phoenix channels client (an ES module, no dependencies).
//
// API (a small subset of phoenix.js, same names):
//
//   import { Socket } from '/assets/shared/phoenix-client.js';
//   const socket = new Socket('/socket', {
//     params: {},              // query parameters of the connection (object or function)
//     transport: 'auto',       // 'auto' (websocket, long-poll when it fails) | 'websocket' | 'longpoll'
//     heartbeatIntervalMs: 30000, timeout: 10000, fallbackMs: 3000,
//   });
//   socket.onOpen(fn); socket.onClose(fn); socket.onError(fn);  // return a ref for socket.off(ref)
//   socket.connect();            // reconnects by itself with backoff, rejoining its channels
//   socket.transportName();      // 'websocket' | 'longpoll' (the one in use)
//   socket.isConnected(); socket.disconnect();
//
//   const channel = socket.channel('bot:ID', {access_token: '…'});  // params: object or function
//   channel.join().receive('ok', resp => …).receive('error', resp => …).receive('timeout', () => …);
//   channel.push('event', payload, timeoutMs?).receive('ok', resp => …).receive('error', …).receive('timeout', …);
//   const ref = channel.on('event', payload => …); channel.off('event', ref);
//   channel.onJoin(fn)   // after every successful (re)join (extension of phoenix.js: handy to fetch what was missed)
//   channel.onError(fn); channel.onClose(fn); channel.leave(); channel.state
//
// Wire format: the V2 serializer, frames [join_ref, ref, topic, event, payload]
// (vsn=2.0.0). Heartbeat on topic "phoenix" every 30 s; a heartbeat left
// unanswered until the next one closes the connection, which then reconnects.
// Long-poll speaks Phoenix's protocol: GET without token opens a session
// ({status:410, token}), GET with the token waits for {status:200, messages}
// or {status:204}; frames are POSTed as application/x-ndjson.

const SOCKET_OPEN = 1;
const CHANNEL = { closed: 'closed', errored: 'errored', joined: 'joined', joining: 'joining', leaving: 'leaving' };
const RECONNECT_MS = [10, 50, 100, 150, 200, 250, 500, 1000, 2000];
const REJOIN_MS = [1000, 2000, 5000];
const LONGPOLL_TIMEOUT_MS = 20000;

function backoff(steps, last) {
  return (tries) => steps[tries - 1] || last;
}

function callable(v) {
  return typeof v === 'function' ? v : () => v;
}

// Timer retries a callback with a delay computed from the number of tries.
class Timer {
  constructor(callback, delayFor) {
    this.callback = callback;
    this.delayFor = delayFor;
    this.tries = 0;
    this.handle = null;
  }
  reset() {
    this.tries = 0;
    clearTimeout(this.handle);
    this.handle = null;
  }
  schedule() {
    clearTimeout(this.handle);
    this.handle = setTimeout(() => {
      this.tries += 1;
      this.callback();
    }, this.delayFor(this.tries + 1));
  }
}

// Push is one message sent on a channel, waiting for its reply.
class Push {
  constructor(channel, event, payload, timeout) {
    this.channel = channel;
    this.event = event;
    this.payload = payload || {};
    this.timeout = timeout;
    this.ref = null;
    this.refEvent = null;
    this.received = null;
    this.hooks = [];
    this.timer = null;
    this.sent = false;
  }
  resend(timeout) {
    this.timeout = timeout;
    this.cancelRefEvent();
    this.ref = null;
    this.refEvent = null;
    this.received = null;
    this.sent = false;
    this.send();
  }
  send() {
    if (this.hasReceived('timeout')) return;
    this.startTimeout();
    this.sent = true;
    this.channel.socket.push(this.channel.topic, this.event, typeof this.payload === 'function' ? this.payload() : this.payload, this.ref, this.channel.joinRef());
  }
  receive(status, callback) {
    if (this.hasReceived(status)) callback(this.received.response);
    this.hooks.push({ status, callback });
    return this;
  }
  hasReceived(status) {
    return this.received && this.received.status === status;
  }
  trigger(status, response) {
    this.channel.trigger(this.refEvent, { status, response });
  }
  matchReceive({ status, response }) {
    this.hooks.filter((h) => h.status === status).forEach((h) => h.callback(response));
  }
  cancelRefEvent() {
    if (this.refEvent) this.channel.off(this.refEvent);
  }
  cancelTimeout() {
    clearTimeout(this.timer);
    this.timer = null;
  }
  startTimeout() {
    if (this.timer) this.cancelTimeout();
    this.ref = this.channel.socket.makeRef();
    this.refEvent = `chan_reply_${this.ref}`;
    this.channel.on(this.refEvent, (payload) => {
      this.cancelRefEvent();
      this.cancelTimeout();
      this.received = payload;
      this.matchReceive(payload);
    });
    this.timer = setTimeout(() => this.trigger('timeout', {}), this.timeout);
  }
}

// Channel is one joined topic.
export class Channel {
  constructor(topic, params, socket) {
    this.topic = topic;
    this.params = callable(params || {});
    this.socket = socket;
    this.state = CHANNEL.closed;
    this.bindings = [];
    this.bindingRef = 0;
    this.timeout = socket.timeout;
    this.joinedOnce = false;
    this.pushBuffer = [];
    this.joinHooks = [];
    this.joinPush = new Push(this, 'phx_join', this.params, this.timeout);
    this.rejoinTimer = new Timer(() => {
      if (this.socket.isConnected()) this.rejoin();
    }, backoff(REJOIN_MS, 10000));
    this.socketRefs = [
      socket.onError(() => this.rejoinTimer.reset()),
      socket.onOpen(() => {
        this.rejoinTimer.reset();
        if (this.state === CHANNEL.errored) this.rejoin();
      }),
    ];
    this.joinPush.receive('ok', () => {
      this.state = CHANNEL.joined;
      this.rejoinTimer.reset();
      this.pushBuffer.forEach((p) => p.send());
      this.pushBuffer = [];
      this.joinHooks.forEach((fn) => fn());
    });
    this.joinPush.receive('error', () => {
      this.state = CHANNEL.errored;
      if (this.socket.isConnected()) this.rejoinTimer.schedule();
    });
    this.joinPush.receive('timeout', () => {
      // Leave the half-joined channel on the server before trying again.
      new Push(this, 'phx_leave', {}, this.timeout).send();
      this.state = CHANNEL.errored;
      if (this.socket.isConnected()) this.rejoinTimer.schedule();
    });
    this.on('phx_close', () => {
      this.rejoinTimer.reset();
      this.state = CHANNEL.closed;
      this.socket.remove(this);
    });
    this.on('phx_error', () => {
      if (this.state === CHANNEL.leaving || this.state === CHANNEL.closed) return;
      this.state = CHANNEL.errored;
      if (this.socket.isConnected()) this.rejoinTimer.schedule();
    });
    this.on('phx_reply', (payload, ref) => this.trigger(`chan_reply_${ref}`, payload));
  }

  join(timeout = this.timeout) {
    if (this.joinedOnce) throw new Error('phoenix-client: join() may be called once per channel');
    this.timeout = timeout;
    this.joinedOnce = true;
    this.rejoin();
    return this.joinPush;
  }

  // onJoin registers fn to run after every successful join and rejoin.
  onJoin(fn) {
    this.joinHooks.push(fn);
  }

  onClose(fn) {
    return this.on('phx_close', fn);
  }

  onError(fn) {
    return this.on('phx_error', fn);
  }

  on(event, callback) {
    const ref = ++this.bindingRef;
    this.bindings.push({ event, ref, callback });
    return ref;
  }

  off(event, ref) {
    this.bindings = this.bindings.filter((b) => !(b.event === event && (ref === undefined || ref === b.ref)));
  }

  push(event, payload, timeout = this.timeout) {
    if (!this.joinedOnce) throw new Error(`phoenix-client: push "${event}" before join()`);
    const p = new Push(this, event, () => payload, timeout);
    if (this.state === CHANNEL.joined && this.socket.isConnected()) {
      p.send();
    } else {
      p.startTimeout();
      this.pushBuffer.push(p);
    }
    return p;
  }

  leave(timeout = this.timeout) {
    this.rejoinTimer.reset();
    this.joinPush.cancelTimeout();
    this.state = CHANNEL.leaving;
    const onClose = () => this.trigger('phx_close', 'leave');
    const p = new Push(this, 'phx_leave', {}, timeout);
    p.receive('ok', onClose).receive('timeout', onClose);
    p.send();
    if (!this.socket.isConnected()) p.trigger('ok', {});
    return p;
  }

  joinRef() {
    return this.joinPush.ref;
  }

  rejoin() {
    if (this.state === CHANNEL.leaving) return;
    this.socket.leaveOpenTopic(this.topic, this);
    this.state = CHANNEL.joining;
    this.joinPush.resend(this.timeout);
  }

  // isMember drops frames of an earlier join of this topic.
  isMember(topic, event, joinRef) {
    if (this.topic !== topic) return false;
    if (joinRef && joinRef !== this.joinRef() && ['phx_close', 'phx_error', 'phx_reply', 'phx_join', 'phx_leave'].includes(event)) {
      return false;
    }
    return true;
  }

  trigger(event, payload, ref, joinRef) {
    for (const b of this.bindings.slice()) {
      if (b.event === event) b.callback(payload, ref, joinRef || this.joinRef());
    }
  }

  isJoining() {
    return this.state === CHANNEL.joining;
  }

  isJoined() {
    return this.state === CHANNEL.joined;
  }

  // socketClosed marks the channel errored so that it rejoins on reconnect.
  socketClosed() {
    this.rejoinTimer.reset();
    if (this.state === CHANNEL.joined || this.state === CHANNEL.joining) this.state = CHANNEL.errored;
  }
}

// LongPoll emulates the part of the WebSocket interface the socket uses.
export class LongPoll {
  constructor(endPoint) {
    this.endPoint = endPoint;
    this.token = null;
    this.readyState = 0; // connecting
    this.queue = [];
    this.posting = false;
    this.aborter = null;
    this.closed = false;
    this.onopen = () => {};
    this.onmessage = () => {};
    this.onerror = () => {};
    this.onclose = () => {};
    setTimeout(() => this.poll(), 0);
  }

  url() {
    if (!this.token) return this.endPoint;
    const u = new URL(this.endPoint);
    u.searchParams.set('token', this.token);
    return u.toString();
  }

  async request(method, body) {
    const aborter = new AbortController();
    const timer = setTimeout(() => aborter.abort(), LONGPOLL_TIMEOUT_MS);
    if (method === 'GET') this.aborter = aborter;
    try {
      const init = { method, signal: aborter.signal, cache: 'no-store' };
      if (body !== undefined) {
        init.body = body;
        init.headers = { 'Content-Type': 'application/x-ndjson' };
      }
      const resp = await fetch(this.url(), init);
      if (!resp.ok) return { status: resp.status };
      return await resp.json();
    } finally {
      clearTimeout(timer);
    }
  }

  async poll() {
    while (!this.closed) {
      let resp;
      try {
        resp = await this.request('GET');
      } catch (err) {
        if (this.closed) return;
        this.fail('long-poll request failed');
        return;
      }
      if (this.closed) return;
      switch (resp.status) {
        case 200:
          for (const m of resp.messages || []) if (this.onmessage) this.onmessage({ data: m });
          break;
        case 204:
          break;
        case 410:
          if (this.readyState === SOCKET_OPEN) {
            // The server forgot our session: start over, so channels rejoin.
            this.fail('long-poll session expired');
            return;
          }
          this.token = resp.token;
          this.readyState = SOCKET_OPEN;
          if (this.onopen) this.onopen({});
          break;
        default:
          this.fail(`long-poll status ${resp.status}`);
          return;
      }
    }
  }

  send(body) {
    this.queue.push(body);
    if (!this.posting) this.flush();
  }

  async flush() {
    this.posting = true;
    while (this.queue.length && !this.closed) {
      const batch = this.queue.splice(0, 100);
      let resp;
      try {
        resp = await this.request('POST', batch.join('\n'));
      } catch (err) {
        resp = { status: 0 };
      }
      if (this.closed) break;
      if (resp.status !== 200) {
        this.fail(`long-poll send status ${resp.status}`);
        break;
      }
    }
    this.posting = false;
  }

  fail(reason) {
    if (this.closed) return;
    if (this.onerror) this.onerror(new Error(reason));
    this.finish(1006, reason, false);
  }

  close(code = 1000, reason = '') {
    this.finish(code, reason, true);
  }

  finish(code, reason, wasClean) {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    if (this.aborter) this.aborter.abort();
    if (this.onclose) this.onclose({ code, reason, wasClean });
  }
}

// Socket is one connection to the server, carrying any number of channels.
export class Socket {
  constructor(endPoint, opts = {}) {
    this.endPoint = endPoint.replace(/\/$/, '');
    this.params = callable(opts.params || {});
    this.transportMode = opts.transport || 'auto';
    this.timeout = opts.timeout || 10000;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs || 30000;
    this.fallbackMs = opts.fallbackMs || 3000;
    this.reconnectAfterMs = opts.reconnectAfterMs || backoff(RECONNECT_MS, 5000);
    this.logger = opts.logger || null;
    this.channels = [];
    this.callbacks = { open: [], close: [], error: [], message: [] };
    this.cbRef = 0;
    this.ref = 0;
    this.conn = null;
    this.sendBuffer = [];
    this.heartbeatTimer = null;
    this.pendingHeartbeatRef = null;
    this.fallbackTimer = null;
    this.closeWasClean = false;
    this.useLongPoll = this.transportMode === 'longpoll';
    this.wsEverOpened = false;
    this.reconnectTimer = new Timer(() => this.teardownAndConnect(), this.reconnectAfterMs);
  }

  log(...args) {
    if (this.logger) this.logger(...args);
  }

  transportName() {
    return this.useLongPoll ? 'longpoll' : 'websocket';
  }

  endPointURL(kind) {
    const base = new URL(this.endPoint + '/' + kind, globalThis.location ? globalThis.location.href : undefined);
    if (kind === 'websocket') base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    const params = this.params();
    for (const [k, v] of Object.entries(params || {})) base.searchParams.set(k, v);
    base.searchParams.set('vsn', '2.0.0');
    return base.toString();
  }

  onOpen(fn) {
    return this.addCallback('open', fn);
  }
  onClose(fn) {
    return this.addCallback('close', fn);
  }
  onError(fn) {
    return this.addCallback('error', fn);
  }
  onMessage(fn) {
    return this.addCallback('message', fn);
  }
  addCallback(kind, fn) {
    const ref = String(++this.cbRef);
    this.callbacks[kind].push([ref, fn]);
    return ref;
  }
  off(refs) {
    const drop = new Set([].concat(refs));
    for (const kind of Object.keys(this.callbacks)) {
      this.callbacks[kind] = this.callbacks[kind].filter(([ref]) => !drop.has(ref));
    }
  }
  fire(kind, ...args) {
    for (const [, fn] of this.callbacks[kind].slice()) fn(...args);
  }

  makeRef() {
    this.ref += 1;
    return String(this.ref);
  }

  isConnected() {
    return !!this.conn && this.conn.readyState === SOCKET_OPEN;
  }

  connect() {
    if (this.conn) return;
    this.closeWasClean = false;
    if (this.useLongPoll) {
      this.conn = new LongPoll(this.endPointURL('longpoll'));
    } else {
      this.conn = new WebSocket(this.endPointURL('websocket'));
      if (this.transportMode === 'auto' && !this.wsEverOpened) {
        const conn = this.conn;
        this.fallbackTimer = setTimeout(() => {
          if (this.conn === conn && conn.readyState !== SOCKET_OPEN) this.fallBack('websocket did not open in time');
        }, this.fallbackMs);
      }
    }
    const conn = this.conn;
    conn.onopen = () => this.conn === conn && this.onConnOpen();
    conn.onerror = (err) => this.conn === conn && this.onConnError(err);
    conn.onmessage = (ev) => this.conn === conn && this.onConnMessage(ev);
    conn.onclose = (ev) => this.conn === conn && this.onConnClose(ev);
  }

  // fallBack switches to long-poll for the rest of this page's life.
  fallBack(reason) {
    this.log('transport', `falling back to long-poll: ${reason}`);
    clearTimeout(this.fallbackTimer);
    this.useLongPoll = true;
    const conn = this.conn;
    this.conn = null;
    if (conn) {
      conn.onopen = conn.onerror = conn.onmessage = conn.onclose = null;
      try {
        conn.close();
      } catch (e) {
        /* already closed */
      }
    }
    this.sendBuffer = [];
    this.channels.forEach((c) => c.socketClosed());
    this.connect();
  }

  disconnect(callback, code = 1000, reason = '') {
    this.closeWasClean = true;
    clearTimeout(this.fallbackTimer);
    this.reconnectTimer.reset();
    clearInterval(this.heartbeatTimer);
    const conn = this.conn;
    this.conn = null;
    if (conn) {
      conn.onclose = null;
      conn.close(code, reason);
    }
    this.channels.forEach((c) => c.socketClosed());
    this.fire('close', { code, reason, wasClean: true });
    if (callback) callback();
  }

  teardownAndConnect() {
    const conn = this.conn;
    this.conn = null;
    if (conn) {
      conn.onopen = conn.onerror = conn.onmessage = conn.onclose = null;
      try {
        conn.close();
      } catch (e) {
        /* already closed */
      }
    }
    this.connect();
  }

  onConnOpen() {
    clearTimeout(this.fallbackTimer);
    if (!this.useLongPoll) this.wsEverOpened = true;
    this.log('transport', `connected (${this.transportName()})`);
    this.closeWasClean = false;
    this.reconnectTimer.reset();
    this.flushSendBuffer();
    this.resetHeartbeat();
    this.fire('open');
  }

  onConnError(err) {
    this.log('transport', 'error', err);
    if (this.transportMode === 'auto' && !this.useLongPoll && !this.wsEverOpened) {
      this.fallBack('websocket failed');
      return;
    }
    this.fire('error', err);
  }

  onConnClose(event) {
    this.log('transport', 'close', event);
    clearInterval(this.heartbeatTimer);
    this.pendingHeartbeatRef = null;
    if (this.transportMode === 'auto' && !this.useLongPoll && !this.wsEverOpened) {
      this.fallBack('websocket closed before opening');
      return;
    }
    this.sendBuffer = []; // joins are sent again; pushes wait in their channel
    this.channels.forEach((c) => c.socketClosed());
    if (!this.closeWasClean) this.reconnectTimer.schedule();
    this.fire('close', event);
  }

  onConnMessage(ev) {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (e) {
      this.log('receive', 'not JSON', ev.data);
      return;
    }
    if (!Array.isArray(msg) || msg.length < 5) return;
    const [joinRef, ref, topic, event, payload] = msg;
    if (ref && ref === this.pendingHeartbeatRef) {
      this.pendingHeartbeatRef = null;
    }
    for (const channel of this.channels.slice()) {
      if (!channel.isMember(topic, event, joinRef)) continue;
      channel.trigger(event, payload, ref, joinRef);
    }
    this.fire('message', { joinRef, ref, topic, event, payload });
  }

  push(topic, event, payload, ref, joinRef) {
    const frame = JSON.stringify([joinRef || null, ref || null, topic, event, payload]);
    if (this.isConnected()) {
      this.conn.send(frame);
    } else {
      this.sendBuffer.push(frame);
    }
  }

  flushSendBuffer() {
    if (!this.isConnected()) return;
    const buf = this.sendBuffer;
    this.sendBuffer = [];
    buf.forEach((f) => this.conn.send(f));
  }

  resetHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.pendingHeartbeatRef = null;
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), this.heartbeatIntervalMs);
  }

  sendHeartbeat() {
    if (!this.isConnected()) return;
    if (this.pendingHeartbeatRef) {
      // No answer since the last one: the connection is dead; reconnect.
      this.pendingHeartbeatRef = null;
      this.log('transport', 'heartbeat timeout');
      const conn = this.conn;
      conn.onclose = null;
      try {
        conn.close(1000, 'heartbeat timeout');
      } catch (e) {
        /* already closed */
      }
      this.onConnClose({ code: 1000, reason: 'heartbeat timeout', wasClean: false });
      return;
    }
    this.pendingHeartbeatRef = this.makeRef();
    this.push('phoenix', 'heartbeat', {}, this.pendingHeartbeatRef, null);
  }

  channel(topic, params = {}) {
    const c = new Channel(topic, params, this);
    this.channels.push(c);
    return c;
  }

  remove(channel) {
    this.off(channel.socketRefs);
    this.channels = this.channels.filter((c) => c !== channel);
  }

  // leaveOpenTopic leaves a duplicate channel of the same topic before a join.
  leaveOpenTopic(topic, except) {
    const dup = this.channels.find((c) => c !== except && c.topic === topic && (c.isJoined() || c.isJoining()));
    if (dup) dup.leave();
  }
}
