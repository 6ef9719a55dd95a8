// Two nodes on one external PostgreSQL behind haproxy (docs/deployment.md, "Several nodes"):
// a key created on one node serves a call on the other at once, a key deleted on one stops
// serving on the other, and when one node is killed mid-load the other serves every call
// started after the killed node is gone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { ECHO_PREFIX, fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { freePort, initArgs, makeDataDir, runNyxgate, sleep, startServer } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

/** haproxy in the foreground: round robin over `ports`, health checks every 200 ms. */
async function startHaproxy(dir, ports) {
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
  http-reuse never
frontend gateway
  bind 127.0.0.1:${port}
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
  default-server inter 200 fall 1 rise 1
${ports.map((p, i) => `  server node${i} 127.0.0.1:${p} check`).join('\n')}
`,
  );
  chmodSync(cfg, 0o644);
  const child = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (s) => (log += s));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return { url, log: () => log, stop: () => child.kill('SIGTERM') };
}

describe('two nodes on one PostgreSQL behind haproxy', () => {
  let pg;
  let mock;
  let shared;
  const nodes = [];
  let lb;
  let token;
  const key = 'sk-good-scale-out-1';

  before(async () => {
    pg = await startPostgres();
    mock = await startMockProviders();
    shared = await makeDataDir('nyxgate-e2e-shared-');
    const flags = [
      `--database.url=${pg.conninfo}`,
      `--security.master_key_file=${path.join(shared, 'master.key')}`,
      `--tls.ca_file=${mock.caFile}`,
      ...providerFlags(mock.url),
    ];
    // One master key file for the deployment (`<version> <hex>`, mode 0600), as an operator
    // copies it to every node.
    writeFileSync(path.join(shared, 'master.key'), `1 ${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    for (let i = 0; i < 2; i += 1) nodes.push(await startServer({ init: false, extraFlags: flags }));
    const tokenFile = path.join(shared, 'admin.token');
    const seeded = await runNyxgate([...initArgs(shared, { tokenFile }), `--database.url=${pg.conninfo}`]);
    assert.equal(seeded.code, 0, seeded.stderr);
    token = (await readFile(tokenFile, 'utf8')).trim();
    lb = await startHaproxy(shared, nodes.map((n) => n.port));
  });

  after(async () => {
    lb?.stop();
    for (const n of nodes) await n.stop();
    await mock?.close();
    await pg?.stop();
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  const chat = (baseURL, content, model = 'auto') =>
    new OpenAI({ apiKey: token, baseURL: `${baseURL}/v1`, maxRetries: 0, timeout: 10_000 }).chat.completions.create({
      model,
      messages: [{ role: 'user', content }],
    });

  /**
   * One completion on a connection of its own (no keep-alive): a client's reused connection
   * that the balancer closed after a failed call is the client's race, not the gateway's.
   */
  const freshChat = (baseURL, content) =>
    new Promise((resolve) => {
      const req = http.request(
        `${baseURL}/v1/chat/completions`,
        { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        },
      );
      req.on('error', (err) => resolve({ status: 0, body: err.message }));
      req.end(JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }] }));
    });

  /** Polls `call` until it resolves to a truthy value; returns how long that took (ms). */
  async function within(ms, call) {
    const started = Date.now();
    while (Date.now() - started < ms) {
      if (await call()) return Date.now() - started;
      await sleep(10);
    }
    assert.fail(`not within ${ms} ms`);
  }

  it('a key created on one node serves a call on the other at once', async () => {
    const [a, b] = nodes;
    const admin = trpcClient(a.url, token);
    await admin.mutation('llmDefaults.update', { primary: 'openai', fallback: null });
    const row = await admin.mutation('apiKeys.create', { provider: 'openai', name: 'shared', key });
    // The mutation returned on node A; node B hears it through LISTEN/NOTIFY.
    const ms = await within(1000, async () => {
      try {
        return (await chat(b.url, 'via node b')).choices[0].message.content === `${ECHO_PREFIX}via node b`;
      } catch {
        return false;
      }
    });
    assert.ok(ms < 1000, `node B used the new key after ${ms} ms`);
    assert.ok(mock.requests.some((r) => r.kind === 'chat' && r.keyFingerprint === fingerprint(key)));

    await trpcClient(b.url, token).mutation('apiKeys.delete', { id: row.id });
    await within(1000, async () => {
      try {
        await chat(a.url, 'via node a');
        return false;
      } catch (err) {
        return err.status === 400 && err.code === 'no_provider_key';
      }
    });
    await admin.mutation('apiKeys.create', { provider: 'openai', name: 'shared again', key });
    await within(1000, async () => {
      try {
        await chat(b.url, 'again');
        return true;
      } catch {
        return false;
      }
    });
  });

  it('a node killed mid-load: the other serves every call started once it is gone', async () => {
    const results = [];
    let killedAt = null;
    const worker = async (w) => {
      for (let i = 0; i < 40; i += 1) {
        const started = Date.now();
        const r = await freshChat(lb.url, `w${w} call ${i}`);
        const ok = r.status === 200 && JSON.parse(r.body).choices[0].message.content === `${ECHO_PREFIX}w${w} call ${i}`;
        results.push({ started, ok, ...(ok ? {} : { error: `${r.status} ${r.body.slice(0, 200)}` }) });
        if (w === 0 && i === 10) {
          // Calls in flight on the node while it dies may fail; a call that starts once it is
          // gone must be sent to the survivor (a refused connection is redispatched).
          process.kill(nodes[0].pid, 'SIGKILL');
          await nodes[0].exited;
          killedAt = Date.now();
        }
      }
    };
    await Promise.all([0, 1, 2].map(worker));
    assert.ok(killedAt !== null);
    const before = results.filter((r) => r.started < killedAt);
    const afterKill = results.filter((r) => r.started > killedAt);
    assert.ok(before.length >= 10 && afterKill.length >= 60, `${before.length} before, ${afterKill.length} after`);
    assert.deepEqual(afterKill.filter((r) => !r.ok), [], `calls started after the kill failed\n${lb.log()}`);
    // The survivor is still whole.
    assert.equal((await fetch(`${nodes[1].url}/readyz`)).status, 200);
  });
});
