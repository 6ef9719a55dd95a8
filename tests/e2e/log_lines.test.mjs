// Whatever bytes a client sends (0x80–0xFF, control characters, percent-escapes that decode to
// no UTF-8), every log line stays one JSON object in valid UTF-8, and no reply echoes the raw
// bytes: answers are valid UTF-8 and JSON bodies parse.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { bodyOf, rawRequest, statusOf } from './lib/http.mjs';
import { startServer } from './lib/server.mjs';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Every byte from 0x80 to 0xFF, then the C0 controls that a header value may smuggle. */
const HIGH_BYTES = Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i));
const CONTROLS = Buffer.from([0x01, 0x02, 0x07, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f, 0x7f]);

function request(method, target, headers = []) {
  return Buffer.concat([
    Buffer.from(`${method} `),
    Buffer.isBuffer(target) ? target : Buffer.from(target),
    Buffer.from(' HTTP/1.1\r\nhost: x\r\n'),
    ...headers.map((h) => Buffer.concat([h, Buffer.from('\r\n')])),
    Buffer.from('connection: close\r\n\r\n'),
  ]);
}

describe('log lines and replies under hostile bytes', () => {
  let srv;
  const replies = [];

  before(async () => {
    srv = await startServer();
  });

  after(async () => {
    if (srv) await srv.stop();
  });

  async function send(bytes) {
    const r = await rawRequest(srv.port, bytes, { untilHead: false });
    assert.ok(statusOf(r.raw), `no answer to ${bytes.toString('latin1').slice(0, 60)}: ${r.error}`);
    replies.push(r.raw);
    return r;
  }

  it('answers paths with bytes 0x80–0xFF with a 4xx and valid UTF-8', async () => {
    const hostile = [
      Buffer.concat([Buffer.from('/nowhere/'), HIGH_BYTES]),
      Buffer.concat([Buffer.from('/trpc/tenants.'), HIGH_BYTES]),
      Buffer.concat([Buffer.from('/v1/chat/'), HIGH_BYTES]),
      '/trpc/' + [...HIGH_BYTES].map((b) => `%${b.toString(16)}`).join(''),
      '/trpc/tenants.current,%c0%af?batch=1',
    ];
    for (const target of hostile) {
      const r = await send(request('GET', target, [Buffer.from(`authorization: Bearer ${srv.token}`)]));
      const status = statusOf(r.raw);
      assert.ok(status >= 400 && status < 500, `status ${status} for ${target}`);
    }
    // Each high byte alone, where a path would echo it.
    for (const b of HIGH_BYTES) {
      const r = await send(request('GET', Buffer.concat([Buffer.from('/x/'), Buffer.from([b])])));
      assert.equal(statusOf(r.raw), 404, `byte ${b}`);
    }
  });

  it('answers headers with high bytes and control characters with a 4xx', async () => {
    for (const bytes of [HIGH_BYTES, CONTROLS]) {
      for (const name of ['authorization: Bearer ngt_', 'x-request-id: ', 'user-agent: ', 'upgrade: ']) {
        const header = Buffer.concat([Buffer.from(name), bytes]);
        const r = await send(request('GET', '/v1/models', [header]));
        const status = statusOf(r.raw);
        assert.ok(status >= 400 && status < 500, `status ${status} for ${name}`);
      }
    }
    const ws = await send(
      request('GET', '/v1/ws', [
        Buffer.from('upgrade: websocket'),
        Buffer.from('connection: upgrade'),
        Buffer.concat([Buffer.from('sec-websocket-key: '), HIGH_BYTES]),
        Buffer.from('sec-websocket-version: 13'),
        Buffer.concat([Buffer.from('authorization: Bearer '), CONTROLS, HIGH_BYTES]),
      ]),
    );
    assert.ok(statusOf(ws.raw) >= 400, ws.raw.slice(0, 200));
  });

  it('every reply is valid UTF-8 and every JSON body parses', () => {
    assert.ok(replies.length > 100, `only ${replies.length} replies`);
    for (const raw of replies) {
      const bytes = Buffer.from(raw, 'latin1');
      assert.doesNotThrow(() => strictUtf8.decode(bytes), `reply not UTF-8: ${raw.slice(0, 200)}`);
      const body = bodyOf(raw);
      if (/content-type: application\/json/i.test(raw) && body && !/transfer-encoding/i.test(raw)) {
        assert.doesNotThrow(() => JSON.parse(strictUtf8.decode(Buffer.from(body, 'latin1'))), body);
      }
    }
  });

  it('every log line is a JSON object in valid UTF-8 and names the hostile paths', async () => {
    await srv.stop({ keepDataDir: false });
    const bytes = srv.stderrBytes();
    let text;
    assert.doesNotThrow(() => {
      text = strictUtf8.decode(bytes);
    }, 'the log is not valid UTF-8');
    const lines = text.split('\n').filter((l) => l.length > 0);
    assert.ok(lines.length > 100, `only ${lines.length} log lines`);
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        assert.fail(`not a JSON line: ${line.slice(0, 200)}`);
      }
      return null;
    });
    for (const e of entries) assert.equal(typeof e, 'object');
    const replaced = entries.filter((e) => e.msg === 'request' && e.path?.includes('\uFFFD'));
    assert.ok(replaced.length >= 128, `${replaced.length} request lines kept a replaced byte`);
    assert.ok(!text.includes(srv.token), 'the token reached the log');
  });
});
