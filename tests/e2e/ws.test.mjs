// GET /v1/ws through the official npm `ws` client against a real `nyxgate serve` whose
// providers point at the HTTPS mock: auth by header and by first message (and the deadline),
// concurrent streams on one socket, cancel and close freeing the upstream call, every kind of
// bad message answered with an error event while the socket stays usable, the stream cap,
// the message size limit, back-pressure with bounded memory, and shutdown close frames.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { ECHO_PREFIX, fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { leakedSecrets, sameDeploymentFlags, sleep, startServer, tail } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

const MAX_STREAMS = 3;
const AUTH_TIMEOUT_MS = 600;
const STUCK_TIMEOUT_MS = 1_500;

function suffix() {
  return Math.random().toString(36).slice(2, 12);
}

/** A connected socket and everything it received, with a way to wait for a message. */
class Client {
  constructor(ws) {
    this.ws = ws;
    this.events = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('message', (data, isBinary) => {
      const ev = isBinary ? { type: '<binary>' } : JSON.parse(data.toString());
      this.events.push(ev);
      for (const w of [...this.waiters]) if (w.pred(ev)) w.resolve(ev);
    });
  }

  static open(url, { token } = {}) {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws', {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(msg) {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The first event (already received or still to come) matching `pred`. */
  next(pred, ms = 5_000, what = 'an event') {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (ev) => (clearTimeout(timer), this.waiters.splice(this.waiters.indexOf(w), 1), resolve(ev)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.slice(-5))}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** The end of stream `id`: its done or error event. */
  end(id, ms = 8_000) {
    return this.next((e) => e.id === id && (e.type === 'done' || e.type === 'error'), ms, `the end of ${id}`);
  }

  of(id, type) {
    return this.events.filter((e) => e.id === id && e.type === type);
  }

  /** The text of stream `id` put together from its deltas. */
  text(id) {
    return this.of(id, 'delta')
      .map((e) => e.chunk.choices[0]?.delta?.content ?? '')
      .join('');
  }

  /** A ping answered: proof that the socket is open and serving. */
  async alive() {
    const before = this.events.filter((e) => e.type === 'pong').length;
    this.send({ type: 'ping' });
    await this.next(() => this.events.filter((e) => e.type === 'pong').length > before, 3_000, 'pong');
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

/**
 * A WebSocket client on a bare TCP socket: handshake, masked text frames out, and no reading
 * at all until asked to (net.Socket stops reading once its small buffer is full).
 */
class RawSocket {
  static open(port, token) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(
          'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
            `Authorization: Bearer ${token}\r\n\r\n`,
        );
      });
      let head = Buffer.alloc(0);
      const onHead = (d) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        socket.pause();
        socket._handle.readStop(); // pause() alone lets Node go on reading into its buffers
        if (!head.toString('latin1', 0, 12).includes(' 101')) return reject(new Error(head.toString('latin1', 0, end)));
        resolve(new RawSocket(socket, head.subarray(end + 4)));
      };
      socket.on('data', onHead);
    });
  }

  constructor(socket, rest) {
    this.socket = socket;
    this.rest = rest;
  }

  send(msg) {
    const payload = Buffer.from(JSON.stringify(msg));
    const mask = randomBytes(4);
    const len = payload.length;
    const header = len < 126 ? Buffer.from([0x81, 0x80 | len]) : len < 65536 ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 255]) : null;
    assert.ok(header, 'test messages stay under 64 KiB');
    for (let i = 0; i < len; i += 1) payload[i] ^= mask[i & 3];
    this.socket.write(Buffer.concat([header, mask, payload]));
  }

  /** Reads frames until the close frame; resolves {code, reason, frames, done}. */
  readUntilClose() {
    return new Promise((resolve, reject) => {
      let buf = this.rest;
      const result = { frames: 0, done: false };
      const parse = () => {
        for (;;) {
          if (buf.length < 2) return;
          const opcode = buf[0] & 0x0f;
          let len = buf[1] & 0x7f;
          let at = 2;
          if (len === 126) {
            if (buf.length < 4) return;
            len = buf.readUInt16BE(2);
            at = 4;
          } else if (len === 127) {
            if (buf.length < 10) return;
            len = Number(buf.readBigUInt64BE(2));
            at = 10;
          }
          if (buf.length < at + len) return;
          const payload = buf.subarray(at, at + len);
          buf = buf.subarray(at + len);
          if (opcode === 0x8) {
            this.socket.destroy();
            return resolve({ ...result, code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() });
          }
          if (opcode === 0x1) {
            result.frames += 1;
            if (JSON.parse(payload.toString()).type === 'done') result.done = true;
          }
        }
      };
      this.socket.on('data', (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        parse();
      });
      this.socket.once('close', () => reject(new Error(`closed without a close frame after ${result.frames} frames`)));
      this.socket._handle.readStart();
      this.socket.resume();
      parse();
    });
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resident memory of a process, in bytes. */
function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

function chat(id, model, content, extra = {}) {
  return { type: 'chat.create', id, body: { model, messages: [{ role: 'user', content }], ...extra } };
}

describe('GET /v1/ws through the ws client', () => {
  let mock;
  let srv;
  let owner;
  const secrets = [];
  const created = [];
  const sockets = [];

  async function addKey(provider, behaviour) {
    const key = `${provider === 'kimi' ? 'kimi' : 'sk'}-${behaviour}-ws-${suffix()}`;
    secrets.push(key);
    const row = await owner.mutation('apiKeys.create', { provider, name: `${provider} ${behaviour}`, key });
    created.push(row.id);
    return { ...row, key, fp: fingerprint(key) };
  }

  async function open(opts = { token: srv.token }) {
    const c = await Client.open(srv.url, opts);
    sockets.push(c);
    return c;
  }

  async function metric(name) {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line.split(' ')[1]);
  }

  before(async () => {
    mock = await startMockProviders({ chunkDelayMs: 100, slowStreamChunks: 40 });
    srv = await startServer({
      extraFlags: [
        `--tls.ca_file=${mock.caFile}`,
        ...providerFlags(mock.url),
        '--gateway.timeout_ms=60000',
        // Failures are scripted call after call here: no circuit may take a provider out.
        '--circuit.failure_threshold=0',
        `--websocket.max_streams=${MAX_STREAMS}`,
        `--websocket.auth_timeout_ms=${AUTH_TIMEOUT_MS}`,
        `--websocket.stuck_timeout_ms=${STUCK_TIMEOUT_MS}`,
        '--limits.ws_max_message_bytes=65536',
      ],
    });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: 'anthropic' });
  });

  afterEach(async () => {
    while (sockets.length) {
      const c = sockets.pop();
      if (c.ws.readyState === WebSocket.OPEN) await c.close();
    }
    while (created.length) await owner.mutation('apiKeys.delete', { id: created.pop() });
    mock.resetCounters();
    mock.configure({ wordsPerChunk: 2, echoRepeat: 1 });
  });

  after(async () => {
    if (srv) {
      const stopped = await srv.stop();
      assert.equal(stopped.code, 0, tail(srv.stderr(), 40));
      assert.deepEqual(leakedSecrets(srv.stderr(), secrets), [], 'a key or token reached the log');
    }
    if (mock) await mock.close();
  });

  it('two concurrent streams on one socket each get meta, deltas and done', async () => {
    await addKey('openai', 'good');
    await addKey('anthropic', 'good');
    const c = await open();
    c.send(chat('c1', 'openai/gpt-4o-mini', 'first stream of words here'));
    c.send(chat('c2', 'anthropic/claude-sonnet-4-5', 'second stream of other words'));
    const [d1, d2] = await Promise.all([c.end('c1'), c.end('c2')]);
    for (const [id, done, provider, words] of [
      ['c1', d1, 'openai', 'first stream of words here'],
      ['c2', d2, 'anthropic', 'second stream of other words'],
    ]) {
      assert.equal(done.type, 'done', JSON.stringify(done));
      assert.equal(done.finishReason, 'stop');
      assert.ok(done.usage.completion_tokens > 0);
      assert.equal(done.usage.total_tokens, done.usage.prompt_tokens + done.usage.completion_tokens);
      const [meta] = c.of(id, 'meta');
      assert.equal(meta.provider, provider);
      assert.equal(meta.keyScope, 'tenant');
      assert.equal(meta.fallback, false); // each names its provider: the chain's first
      assert.equal(meta.attempts, 1);
      assert.match(meta.requestId, /^[0-9a-f]{32}$/);
      assert.ok(meta.overheadUs >= 0);
      const deltas = c.of(id, 'delta');
      assert.ok(deltas.length >= 2, `${id}: ${deltas.length} deltas`);
      assert.ok(deltas.every((d) => d.chunk.object === 'chat.completion.chunk'));
      assert.equal(c.text(id), `${ECHO_PREFIX}${words}`);
      // meta comes first, done last.
      const mine = c.events.filter((e) => e.id === id);
      assert.equal(mine[0].type, 'meta');
      assert.equal(mine.at(-1).type, 'done');
    }
  });

  it('meta says fallback when the primary has no usable key and the fallback serves', async () => {
    await addKey('anthropic', 'good');
    const c = await open();
    c.send(chat('f1', 'auto', 'the primary has no key'));
    c.send(chat('f2', 'anthropic/claude-sonnet-4-5', 'named outright'));
    const [d1, d2] = await Promise.all([c.end('f1'), c.end('f2')]);
    assert.equal(d1.type, 'done', JSON.stringify(d1));
    assert.equal(d2.type, 'done', JSON.stringify(d2));
    const [auto] = c.of('f1', 'meta');
    assert.equal(auto.provider, 'anthropic');
    assert.equal(auto.fallback, true);
    const [named] = c.of('f2', 'meta');
    assert.equal(named.fallback, false);
  });

  it('a field the provider cannot take ends the stream with an error naming it', async () => {
    await addKey('anthropic', 'good');
    const seen = mock.requests.length;
    const c = await open();
    c.send(chat('p1', 'anthropic/claude-sonnet-4-5', 'hi', { seed: 7 }));
    c.send(chat('p2', 'anthropic/claude-sonnet-4-5', 'hi', { top_k: 5 }));
    c.send(chat('p3', 'google/../../x', 'hi'));
    const [e1, e2, e3] = await Promise.all([c.end('p1'), c.end('p2'), c.end('p3')]);
    assert.equal(e1.type, 'error');
    assert.equal(e1.error.code, 'unsupported_parameter');
    assert.equal(e1.error.param, 'seed');
    assert.match(e1.error.message, /anthropic/);
    assert.equal(e2.error.code, 'unsupported_parameter');
    assert.match(e2.error.message, /top_k/);
    assert.equal(e3.error.code, 'invalid_model');
    assert.equal(mock.requests.length, seen, 'nothing went upstream');
  });

  it('a browser-style socket authenticates with its first message', async () => {
    await addKey('openai', 'good');
    const c = await open({});
    c.send({ type: 'auth', token: srv.token });
    // chat.create right behind the auth message: it waits for the auth, in order.
    c.send(chat('b1', 'auto', 'hello from a browser'));
    await c.next((e) => e.type === 'authenticated');
    const done = await c.end('b1');
    assert.equal(done.type, 'done', JSON.stringify(done));
    assert.equal(c.text('b1'), `${ECHO_PREFIX}hello from a browser`);
  });

  it('a socket that does not authenticate in time is closed with 1008', async () => {
    const c = await open({});
    await c.alive(); // ping works before auth
    const started = Date.now();
    const { code, reason } = await within(c.closed, AUTH_TIMEOUT_MS + 5_000, 'the close');
    assert.equal(code, 1008);
    assert.match(reason, /authentication timeout/);
    assert.ok(Date.now() - started < AUTH_TIMEOUT_MS + 2_000);
  });

  it('a bad token is refused: 401 before the upgrade, close 1008 after an auth message', async () => {
    await assert.rejects(Client.open(srv.url, { token: 'ngt_not_a_real_token' }), (e) => e.status === 401);
    const c = await open({});
    c.send({ type: 'auth', token: 'ngt_not_a_real_token' });
    const err = await c.next((e) => e.type === 'error');
    assert.equal(err.error.code, 'invalid_api_key');
    assert.equal((await c.closed).code, 1008);
  });

  it('every bad message gets an error event and the socket stays usable', async () => {
    await addKey('openai', 'slowstream');
    const c = await open();
    const cases = [
      ['{not json', 'invalid_json'],
      ['[1,2,3]', 'invalid_message'],
      [{ type: 42 }, 'invalid_message'],
      [{ type: 'chat.delete', id: 'x' }, 'unknown_type'],
      [{ type: 'chat.create', body: { messages: [] } }, 'invalid_message'],
      [{ type: 'chat.create', id: 'x'.repeat(200), body: {} }, 'invalid_message'],
      [{ type: 'chat.create', id: 'nobody' }, 'invalid_request'],
      [{ type: 'chat.create', id: 'badbody', body: { model: 'auto', messages: 'hi' } }, 'invalid_request'],
      [{ type: 'chat.create', id: 'nomodel', body: { model: 'mystery', messages: [{ role: 'user', content: 'x' }] } }, 'unknown_model'],
      [{ type: 'cancel', id: 'never-started' }, 'unknown_id'],
      [{ type: 'auth', token: srv.token }, 'already_authenticated'],
    ];
    for (const [msg, code] of cases) {
      const before = c.events.length;
      c.send(msg);
      const err = await c.next((e, i = c.events.indexOf(e)) => i >= before && e.type === 'error', 3_000, code);
      assert.equal(err.error.code, code, `${JSON.stringify(msg).slice(0, 60)}: ${JSON.stringify(err)}`);
      assert.ok(err.error.message.length > 0);
    }
    // A binary frame.
    const before = c.events.length;
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const bin = await c.next((e, i = c.events.indexOf(e)) => i >= before && e.type === 'error');
    assert.equal(bin.error.code, 'binary_not_supported');
    // A duplicate id while the first stream runs, and the stream cap.
    c.send(chat('dup', 'openai/gpt-4o-mini', 'a long slow story'));
    await c.next((e) => e.id === 'dup' && e.type === 'meta');
    c.send(chat('dup', 'openai/gpt-4o-mini', 'again'));
    const dup = await c.next((e) => e.id === 'dup' && e.type === 'error');
    assert.equal(dup.error.code, 'duplicate_id');
    for (let i = 1; i < MAX_STREAMS; i += 1) c.send(chat(`more${i}`, 'openai/gpt-4o-mini', 'slow'));
    c.send(chat('one-too-many', 'openai/gpt-4o-mini', 'slow'));
    const cap = await c.next((e) => e.id === 'one-too-many');
    assert.equal(cap.type, 'error');
    assert.equal(cap.error.code, 'too_many_streams');
    await c.alive();
    assert.equal(c.of('dup', 'done').length + c.of('dup', 'error').length, 1, 'the first dup stream runs on');
  });

  it('a message over the size limit closes the socket with 1009', async () => {
    const c = await open();
    c.send(chat('big', 'auto', 'x'.repeat(70_000)));
    assert.equal((await c.closed).code, 1009);
  });

  it('cancel stops the stream and frees the upstream call', async () => {
    await addKey('openai', 'slowstream');
    const c = await open();
    c.send(chat('k1', 'openai/gpt-4o-mini', 'a long slow story'));
    await c.next((e) => e.id === 'k1' && e.type === 'delta');
    c.send({ type: 'cancel', id: 'k1' });
    const end = await c.end('k1');
    assert.equal(end.type, 'error');
    assert.equal(end.error.code, 'cancelled');
    await mock.waitFor(() => mock.stats().aborted >= 1, 5_000, 'the upstream call to be aborted');
    assert.equal(mock.activeChats(), 0);
    // Nothing more arrives for k1, and the id can be used again.
    const count = c.events.filter((e) => e.id === 'k1').length;
    await sleep(300);
    assert.equal(c.events.filter((e) => e.id === 'k1').length, count);
    await c.alive();
  });

  it('closing the socket cancels its upstream calls', async () => {
    await addKey('openai', 'slowstream');
    const c = await open();
    c.send(chat('z1', 'openai/gpt-4o-mini', 'a long slow story'));
    c.send(chat('z2', 'openai/gpt-4o-mini', 'another long slow story'));
    await c.next((e) => e.id === 'z2' && e.type === 'delta');
    await c.close();
    await mock.waitFor(() => mock.stats().aborted >= 2, 5_000, 'both upstream calls to be aborted');
    assert.equal(mock.activeChats(), 0);
    assert.equal(await metric('nyxgate_ws_streams'), 0);
  });

  it('a reader that stops reading is back-pressured with bounded memory, then closed', async () => {
    await addKey('openai', 'good');
    // About 5 MB of answer per stream: more than the kernel's socket buffers hold on the way
    // to a reader that does not read.
    mock.configure({ wordsPerChunk: 400, echoRepeat: 100 });
    const cancelledBefore = await metric('nyxgate_calls_cancelled_total');
    const rssBefore = rssOf(srv.pid);
    // A raw client that stops reading right after the handshake, as a stuck browser tab would.
    // (The ws client keeps reading into its own buffers even when paused.)
    const stuck = await RawSocket.open(srv.port, srv.token);
    const words = Array.from({ length: 8_000 }, (_, i) => `w${i}`).join(' ');
    for (let i = 0; i < MAX_STREAMS; i += 1) stuck.send(chat(`big${i}`, 'openai/gpt-4o-mini', words, { max_tokens: 100_000 }));
    let peak = 0;
    let rssPeak = 0;
    const started = Date.now();
    // Sampled until the server gives up on the reader: how soon the kernel's socket buffers
    // are full (and nyxgate's queue starts to hold bytes) depends on the machine's load.
    while (Date.now() - started < 2 * STUCK_TIMEOUT_MS + 500) {
      peak = Math.max(peak, await metric('nyxgate_ws_queued_bytes'));
      rssPeak = Math.max(rssPeak, rssOf(srv.pid));
      await sleep(50);
    }
    // Producers pause at 256 KiB queued (counting what is on its way to the socket).
    assert.ok(peak > 0 && peak < 1024 * 1024, `queued ${peak} bytes`);
    // The 15 MB of answers stay upstream (in the provider's and the kernel's buffers). Under
    // AddressSanitizer RSS measures its quarantine of freed memory, not nyxgate's.
    if (!process.env.ASAN_OPTIONS) {
      assert.ok(rssPeak - rssBefore < 8 * 1024 * 1024, `RSS grew ${rssPeak - rssBefore} bytes`);
    }
    // Stuck past the deadline: the server gives up on the reader. Reading again shows why.
    await sleep(2 * STUCK_TIMEOUT_MS + 500 - (Date.now() - started));
    // The reader drains megabytes of queued frames first: slow on a loaded machine.
    const { code, reason, frames } = await within(stuck.readUntilClose(), 30_000, 'the close frame');
    assert.equal(code, 1008);
    assert.match(reason, /slow reader/);
    assert.ok(frames > 0 && !frames.done, 'some deltas, but no stream finished');
    assert.ok((await metric('nyxgate_ws_slow_reader_closes_total')) >= 1);
    // Closing the socket cancelled its calls.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await metric('nyxgate_calls_cancelled_total')) < cancelledBefore + MAX_STREAMS) await sleep(50);
    assert.equal(await metric('nyxgate_calls_cancelled_total'), cancelledBefore + MAX_STREAMS);
    assert.equal(await metric('nyxgate_ws_streams'), 0);
    assert.equal(await metric('nyxgate_ws_queued_bytes'), 0);
  });
});

describe('GET /v1/ws at shutdown', () => {
  it('idle sockets get close 1001 at once; a running stream finishes first', async () => {
    const mock = await startMockProviders({ chunkDelayMs: 100, slowStreamChunks: 10 });
    const srv = await startServer({
      extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url), '--server.shutdown_grace_ms=8000'],
    });
    try {
      const owner = trpcClient(srv.url, srv.token);
      await owner.mutation('apiKeys.create', { provider: 'openai', name: 'slow', key: `sk-slowstream-ws-${suffix()}` });
      const idle = await Client.open(srv.url, { token: srv.token });
      const busy = await Client.open(srv.url, { token: srv.token });
      busy.send(chat('s1', 'openai/gpt-4o-mini', 'a story told slowly'));
      await busy.next((e) => e.id === 's1' && e.type === 'delta');
      const stopping = srv.stop();
      const idleClosed = await within(idle.closed, 3_000, 'the idle socket to close');
      assert.equal(idleClosed.code, 1001);
      const done = await busy.end('s1');
      assert.equal(done.type, 'done', JSON.stringify(done));
      assert.equal(busy.text('s1').startsWith(ECHO_PREFIX), true);
      const busyClosed = await within(busy.closed, 5_000, 'the busy socket to close');
      assert.equal(busyClosed.code, 1001);
      const stopped = await stopping;
      assert.equal(stopped.code, 0, tail(srv.stderr(), 30));
    } finally {
      await srv.stop();
      await mock.close();
    }
  });

  it('a stream still running at the end of the grace ends with stream_interrupted, then 1001', async () => {
    const mock = await startMockProviders({ chunkDelayMs: 100, slowStreamChunks: 40 });
    const srv = await startServer({
      extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url), '--server.shutdown_grace_ms=300'],
    });
    try {
      const owner = trpcClient(srv.url, srv.token);
      await owner.mutation('apiKeys.create', { provider: 'openai', name: 'slow', key: `sk-slowstream-ws-${suffix()}` });
      const busy = await Client.open(srv.url, { token: srv.token });
      busy.send(chat('s1', 'openai/gpt-4o-mini', 'a story told slowly'));
      await busy.next((e) => e.id === 's1' && e.type === 'delta');
      const stopping = srv.stop();
      const end = await busy.end('s1');
      assert.equal(end.type, 'error', JSON.stringify(end));
      assert.equal(end.error.code, 'stream_interrupted');
      const closed = await within(busy.closed, 3_000, 'the socket to close');
      assert.equal(closed.code, 1001);
      const stopped = await stopping;
      assert.equal(stopped.code, 0, tail(srv.stderr(), 30));
    } finally {
      await srv.stop();
      await mock.close();
    }
  });
});

describe('GET /v1/ws after a revocation on another node', () => {
  it('the token stops on the other node at once: 401 over HTTP, close 1008 on the next chat.create', async () => {
    const mock = await startMockProviders({ chunkDelayMs: 10 });
    const secrets = [];
    let nodeA;
    let nodeB;
    try {
      nodeA = await startServer({ extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)] });
      secrets.push(nodeA.token);
      nodeB = await startServer({
        init: false,
        token: nodeA.token,
        extraFlags: [...sameDeploymentFlags(nodeA), `--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)],
      });
      const viaA = trpcClient(nodeA.url, nodeA.token);
      const key = `sk-good-ws-${suffix()}`;
      secrets.push(key);
      await viaA.mutation('apiKeys.create', { provider: 'openai', name: 'k', key });
      const minted = await viaA.mutation('tokens.create', { name: 'socket' });
      secrets.push(minted.token);

      const byHeader = await Client.open(nodeB.url, { token: minted.token });
      const byMessage = await Client.open(nodeB.url, {});
      byMessage.send({ type: 'auth', token: minted.token });
      await byMessage.next((e) => e.type === 'authenticated');
      byHeader.send(chat('r1', 'openai/gpt-4o-mini', 'before the revocation'));
      assert.equal((await byHeader.end('r1')).type, 'done');
      const call = () =>
        fetch(`${nodeB.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${minted.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
      assert.equal((await call()).status, 200); // cached as valid on node B

      // Another revocation in the tenant drops node B's cached principals: the next chat.create
      // asks the database (a ping right behind it waits for that answer) and still runs.
      const other = await viaA.mutation('tokens.create', { name: 'other' });
      secrets.push(other.token);
      const refusedOther = () =>
        fetch(`${nodeB.url}/trpc/tokens.list`, { headers: { authorization: `Bearer ${other.token}` } }).then((r) => r.status === 401);
      assert.equal(await refusedOther(), false); // cached as valid on node B
      await viaA.mutation('tokens.revoke', { id: other.id });
      // Refused: node B has dropped the tenant's cached principals.
      for (const until = Date.now() + 5_000; !(await refusedOther()); await sleep(20)) {
        assert.ok(Date.now() < until, 'node B kept accepting a revoked token');
      }
      const pongs = byMessage.events.filter((e) => e.type === 'pong').length;
      byMessage.send(chat('m1', 'openai/gpt-4o-mini', 'still allowed'));
      byMessage.send({ type: 'ping' });
      assert.equal((await byMessage.end('m1')).type, 'done');
      await byMessage.next(() => byMessage.events.filter((e) => e.type === 'pong').length > pongs, 3_000, 'the pong');

      const revokedAt = performance.now();
      await viaA.mutation('tokens.revoke', { id: minted.id });
      let status;
      for (;;) {
        status = (await call()).status;
        if (status === 401 || performance.now() - revokedAt > 5_000) break;
        await sleep(20);
      }
      const ms = performance.now() - revokedAt;
      assert.equal(status, 401);
      assert.ok(ms < 2_000, `node B took ${Math.round(ms)} ms to refuse the revoked token`);

      for (const [c, id] of [
        [byHeader, 'r2'],
        [byMessage, 'r3'],
      ]) {
        c.send(chat(id, 'openai/gpt-4o-mini', 'after the revocation'));
        const err = await c.next((e) => e.id === id && e.type === 'error', 3_000, `the refusal of ${id}`);
        assert.equal(err.error.code, 'invalid_api_key');
        const closed = await within(c.closed, 3_000, 'the close');
        assert.equal(closed.code, 1008);
        assert.equal(c.of(id, 'meta').length, 0);
      }
    } finally {
      if (nodeB) {
        const stopped = await nodeB.stop();
        assert.equal(stopped.code, 0, tail(nodeB.stderr(), 30));
        assert.deepEqual(leakedSecrets(nodeB.stderr(), secrets), []);
      }
      if (nodeA) {
        const stopped = await nodeA.stop();
        assert.equal(stopped.code, 0, tail(nodeA.stderr(), 30));
        assert.deepEqual(leakedSecrets(nodeA.stderr(), secrets), []);
      }
      await mock.close();
    }
  });
});
