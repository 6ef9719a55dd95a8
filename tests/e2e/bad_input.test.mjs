// Bad input of any kind gets a 4xx with a clear answer, and the server keeps serving a
// well-behaved client (the bystander) throughout every abuse.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { rawExchange, rawRequest, startBystander, statusOf, write } from './lib/http.mjs';
import { sleep, startServer, tail } from './lib/server.mjs';

/** Bystander latency bound: generous, the ASan build on two cores is slow. */
const MAX_BYSTANDER_LATENCY_MS = 3000;

describe('bad input', () => {
  let srv;
  let auth;

  before(async () => {
    srv = await startServer();
    auth = { authorization: `Bearer ${srv.token}` };
  });

  after(async () => {
    if (!srv) return;
    const stopped = await srv.stop();
    assert.equal(stopped.timedOut, false, 'serve did not exit within 15 s of SIGTERM');
    assert.equal(stopped.code, 0, `serve exit code\n${tail(srv.stderr(), 40)}`);
    assert.ok(!srv.stderr().includes(srv.token), 'the token reached the log');
  });

  /** Runs `abuse` while the bystander calls the server; asserts the bystander never failed. */
  async function whileServing(abuse) {
    const bystander = startBystander(srv.url, srv.token);
    await sleep(50);
    try {
      await abuse();
      await sleep(100); // the server must still answer right after the abuse
    } finally {
      const stats = await bystander.stop();
      assert.deepEqual(stats.failures, [], 'the bystander saw failures');
      assert.ok(stats.calls >= 2, `the bystander made only ${stats.calls} calls`);
      assert.ok(
        stats.maxLatencyMs < MAX_BYSTANDER_LATENCY_MS,
        `bystander max latency ${stats.maxLatencyMs} ms`,
      );
    }
  }

  async function post(path, body, headers = {}) {
    const res = await fetch(`${srv.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth, ...headers },
      body,
    });
    const text = await res.text();
    return { status: res.status, text, json: safeJson(text) };
  }

  async function get(path) {
    const res = await fetch(`${srv.url}${path}`, { headers: auth });
    const text = await res.text();
    return { status: res.status, text, json: safeJson(text) };
  }

  it('malformed JSON in a mutation body is 400 PARSE_ERROR', async () => {
    await whileServing(async () => {
      for (const body of ['{"name":', 'not json at all', '{"name":"a"}}', '\u0000\u0001']) {
        const r = await post('/trpc/tokens.create', body);
        assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.text}`);
        assert.equal(r.json?.error?.data?.code, 'PARSE_ERROR', r.text);
        assert.equal(r.json.error.code, -32700);
        assert.equal(typeof r.json.error.message, 'string');
      }
    });
  });

  it('malformed JSON in a query input is 400 PARSE_ERROR', async () => {
    await whileServing(async () => {
      const r = await get(`/trpc/members.list?input=${encodeURIComponent('{"a":')}`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json?.error?.data?.code, 'PARSE_ERROR', r.text);
    });
  });

  it('wrong types are 400 BAD_REQUEST', async () => {
    await whileServing(async () => {
      const cases = [
        ['/trpc/tokens.create', { name: 123 }],
        ['/trpc/tokens.create', { name: ['a'] }],
        ['/trpc/tokens.create', ['name']],
        ['/trpc/tokens.create', 'name'],
        ['/trpc/tokens.revoke', { id: { $ne: null } }],
        ['/trpc/members.add', { email: 17, role: 'member' }],
        ['/trpc/members.setRole', { memberId: '00000000-0000-4000-8000-000000000000', role: 5 }],
      ];
      for (const [path, input] of cases) {
        const r = await post(path, JSON.stringify(input));
        assert.equal(r.status, 400, `${path} ${JSON.stringify(input)} → ${r.text}`);
        assert.equal(r.json?.error?.data?.code, 'BAD_REQUEST', r.text);
        assert.equal(r.json.error.data.path, path.slice('/trpc/'.length));
      }
    });
  });

  it('deeply nested JSON is refused with 400', async () => {
    await whileServing(async () => {
      const depth = 100_000;
      const r = await post('/trpc/tokens.create', `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      assert.equal(r.status, 400, r.text.slice(0, 300));
    });
  });

  it('a 2 MiB body is 413', async () => {
    await whileServing(async () => {
      const body = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) });
      // Content-Length announced: the server may answer before the body arrives.
      const announced = await rawExchange(srv.port, async (socket, state) => {
        await write(
          socket,
          `POST /trpc/tokens.create HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer ${srv.token}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        await sleep(200);
        for (let at = 0; at < body.length && !state.raw && !state.closed; at += 64 * 1024) {
          await write(socket, body.slice(at, at + 64 * 1024));
        }
      }, { untilHead: true });
      assert.equal(statusOf(announced.raw), 413, `announced: ${announced.raw.slice(0, 300)} (${announced.error})`);

      // Chunked: the server must count as it reads.
      const chunked = await rawExchange(srv.port, async (socket, state) => {
        await write(
          socket,
          `POST /trpc/tokens.create HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer ${srv.token}\r\n` +
            `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        const size = 64 * 1024;
        for (let at = 0; at < body.length && !state.raw && !state.closed; at += size) {
          const piece = body.slice(at, at + size);
          await write(socket, `${piece.length.toString(16)}\r\n${piece}\r\n`);
        }
        await write(socket, '0\r\n\r\n');
      }, { untilHead: true });
      assert.equal(statusOf(chunked.raw), 413, `chunked: ${chunked.raw.slice(0, 300)} (${chunked.error})`);
    });
  });

  it('20 KiB of headers is 431', async () => {
    await whileServing(async () => {
      const r = await rawRequest(
        srv.port,
        `GET /healthz HTTP/1.1\r\nHost: e2e\r\nX-Pad: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
      );
      assert.equal(statusOf(r.raw), 431, `${r.raw.slice(0, 300)} (${r.error})`);
    });
  });

  it('a 100 KiB URL is refused with 414 or 431', async () => {
    await whileServing(async () => {
      const r = await rawRequest(
        srv.port,
        `GET /trpc/tenants.current?input=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: e2e\r\n\r\n`,
      );
      assert.ok([414, 431].includes(statusOf(r.raw)), `${r.raw.slice(0, 300)} (${r.error})`);
    });
  });

  it('a slowloris header is cut off with 408 within the header timeout', async () => {
    await whileServing(async () => {
      const r = await rawExchange(
        srv.port,
        async (socket, state) => {
          await write(socket, 'GET /healthz HTTP/1.1\r\nHost: e2e\r\nX-Slow: ');
          while (!state.closed && !state.raw) {
            await sleep(100);
            await write(socket, 'a');
          }
        },
        { timeoutMs: 6000 },
      );
      assert.ok(r.closed, `still open after ${r.ms} ms`);
      assert.equal(statusOf(r.raw), 408, `${r.raw.slice(0, 300)} (${r.error})`);
      // header_timeout_ms=1000 in the tests; allow for scheduling on a loaded machine.
      assert.ok(r.ms >= 900 && r.ms < 3500, `closed after ${r.ms} ms`);
    });
  });

  it('a connection that sends nothing is closed within the header timeout', async () => {
    await whileServing(async () => {
      const r = await rawExchange(srv.port, () => {}, { timeoutMs: 6000 });
      assert.ok(r.closed, `still open after ${r.ms} ms`);
      assert.ok(r.ms < 3500, `closed after ${r.ms} ms`);
      const status = statusOf(r.raw);
      assert.ok(status === null || status === 408, `status ${status}`);
    });
  });

  it('a garbage request line is 400', async () => {
    await whileServing(async () => {
      const r = await rawRequest(srv.port, 'HELLO THERE\r\n\r\n');
      assert.equal(statusOf(r.raw), 400, `${r.raw.slice(0, 300)} (${r.error})`);
    });
  });

  it('an unknown procedure is 404 NOT_FOUND', async () => {
    await whileServing(async () => {
      const q = await get('/trpc/nope.nothing');
      assert.equal(q.status, 404, q.text);
      assert.equal(q.json?.error?.data?.code, 'NOT_FOUND');
      assert.equal(q.json.error.data.path, 'nope.nothing');
      const m = await post('/trpc/members.destroyAll', '{}');
      assert.equal(m.status, 404, m.text);
      assert.equal(m.json?.error?.data?.code, 'NOT_FOUND');
    });
  });

  it('many bad requests in a row leave the server healthy', async () => {
    await whileServing(async () => {
      const jobs = [];
      for (let i = 0; i < 20; i++) {
        jobs.push(post('/trpc/tokens.create', '{"name":'));
        jobs.push(get('/trpc/nope.nothing'));
        jobs.push(rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nX-Pad: ${'b'.repeat(20 * 1024)}\r\n\r\n`));
      }
      await Promise.all(jobs);
    });
    const res = await fetch(`${srv.url}/readyz`);
    assert.equal(res.status, 200);
    const metrics = await fetch(`${srv.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# (HELP|TYPE) /m);
  });
});

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
