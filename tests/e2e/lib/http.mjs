// Raw HTTP for the bad-input tests: requests `fetch` refuses to send, and a well-behaved
// bystander that keeps calling the server while someone else misbehaves.
import net from 'node:net';

/** Parses the status line of a raw HTTP/1.1 response; null if there is none. */
export function statusOf(raw) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  return m ? Number(m[1]) : null;
}

/** The body of a raw response (after the blank line), chunked encoding not undone. */
export function bodyOf(raw) {
  const at = raw.indexOf('\r\n\r\n');
  return at < 0 ? '' : raw.slice(at + 4);
}

/**
 * Opens a socket to `port` and hands it to `drive(socket, state)`; resolves once the server
 * has closed the connection or `timeoutMs` passed: {raw, closed, ms, firstByteMs, error}.
 * `raw` is what the server sent. Write errors (EPIPE, ECONNRESET after an early answer)
 * are recorded, not thrown: a server may answer and close before reading everything.
 * With `untilHead`, resolves as soon as a response head has arrived (closed may be false).
 */
export function rawExchange(port, drive, { timeoutMs = 10_000, untilHead = false } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ port, host: '127.0.0.1' });
    const state = { raw: '', closed: false, firstByteMs: null, error: null, done: false };
    let timer;
    const finish = () => {
      if (state.done) return;
      state.done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        raw: state.raw,
        closed: state.closed,
        ms: Date.now() - started,
        firstByteMs: state.firstByteMs,
        error: state.error,
      });
    };
    timer = setTimeout(finish, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      if (state.firstByteMs === null) state.firstByteMs = Date.now() - started;
      state.raw += chunk;
      if (untilHead && state.raw.includes('\r\n\r\n')) finish();
    });
    socket.on('error', (err) => {
      state.error = err.code ?? err.message;
    });
    socket.on('close', () => {
      state.closed = true;
      finish();
    });
    socket.on('connect', () => {
      Promise.resolve(drive(socket, state)).catch((err) => {
        state.error = err.message;
      });
    });
  });
}

/** Writes `data` unless the socket is gone; resolves when flushed (or on error). */
export function write(socket, data) {
  return new Promise((resolve) => {
    if (socket.destroyed || !socket.writable) return resolve(false);
    socket.write(data, (err) => resolve(!err));
  });
}

/** One complete request written at once; resolves once the response head arrived. */
export function rawRequest(port, text, opts) {
  return rawExchange(port, (socket) => write(socket, text), { untilHead: true, ...opts });
}

/**
 * Keeps a well-behaved client busy against the server: GET /healthz and a tRPC
 * `tenants.current`, one after another, until stop(). stop() resolves
 * {calls, failures: [..], maxLatencyMs}.
 */
export function startBystander(baseUrl, token, { pauseMs = 25 } = {}) {
  const stats = { calls: 0, failures: [], maxLatencyMs: 0 };
  let running = true;
  const callOnce = async (path, check) => {
    const started = Date.now();
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5000),
      });
      const body = await res.text();
      check(res, body);
    } catch (err) {
      stats.failures.push(`${path}: ${err.message}`);
    } finally {
      stats.calls += 1;
      stats.maxLatencyMs = Math.max(stats.maxLatencyMs, Date.now() - started);
    }
  };
  const loop = (async () => {
    while (running) {
      await callOnce('/healthz', (res) => {
        if (res.status !== 200) throw new Error(`status ${res.status}`);
      });
      await callOnce('/trpc/tenants.current', (res, body) => {
        if (res.status !== 200) throw new Error(`status ${res.status}: ${body.slice(0, 200)}`);
        if (!JSON.parse(body).result?.data?.slug) throw new Error(`no slug in ${body.slice(0, 200)}`);
      });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return stats;
    },
  };
}
