// The embedded PostgreSQL dies under a running `nyxgate serve`: the data plane keeps answering
// from its caches (principals, tenant key sets) through the HTTPS mock, the control plane
// answers 503 meanwhile, the supervisor reaps and restarts the postmaster, storage, the LISTEN
// listener and /readyz come back without a hand, and every call made has its usage row. When
// the database cannot be restarted, nyxgate gives up: a fatal log line and a non-zero exit.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';
import { isTRPCClientError } from '@trpc/client';

import { providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { psql, sleep, startServer, stopChecked, tail } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

function postmasterPid(srv) {
  return Number(readFileSync(path.join(srv.dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** The process state letter from /proc (Z: a zombie nobody reaped), or null when it is gone. */
function processState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return null;
  }
}

async function statusOf(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function metric(srv, name) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.split(' ')[1]);
}

async function eventually(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function logLines(srv) {
  return srv
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('embedded PostgreSQL killed under load', () => {
  let mock;
  let srv;
  let owner;
  let client;
  const secrets = [];

  before(async () => {
    mock = await startMockProviders();
    srv = await startServer({
      extraFlags: [
        `--tls.ca_file=${mock.caFile}`,
        ...providerFlags(mock.url),
        // The first restart waits longer than the principal cache's 10 s lifetime, so calls
        // during the outage must be answered from entries the database could not refresh.
        '--database.embedded_restart_backoff_ms=11000',
        '--database.embedded_max_restarts=3',
        // Commits must be durable for the usage count: fast_unsafe commits asynchronously, and a
        // kill -9 loses what the WAL writer had not written yet.
        '--database.embedded_fast_unsafe=false',
      ],
    });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    client = new OpenAI({ apiKey: srv.token, baseURL: `${srv.url}/v1`, maxRetries: 0 });
    const key = `sk-good-outage-${Math.random().toString(36).slice(2, 10)}`;
    secrets.push(key);
    await owner.mutation('apiKeys.create', { provider: 'openai', name: 'outage', key });
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets);
    if (mock) await mock.close();
  });

  it('serves calls from the caches, answers 503 on the control plane, recovers, loses no usage row', async () => {
    const requestIds = new Set();
    const callFailures = [];
    const controlStatuses = new Map();
    let running = true;

    async function caller(n) {
      for (let i = 0; running; ++i) {
        try {
          const { data, response } = await client.chat.completions
            .create({
              model: 'openai/gpt-4o-mini',
              messages: [{ role: 'user', content: `call ${n}-${i}` }],
              stream: i % 2 === 1,
            })
            .withResponse();
          if (i % 2 === 1) for await (const chunk of data) void chunk;
          requestIds.add(response.headers.get('x-request-id'));
        } catch (err) {
          callFailures.push(`${err.status ?? ''} ${err.message}`);
        }
        await sleep(20);
      }
    }

    async function controlPlane() {
      while (running) {
        let status = 200;
        try {
          await owner.query('apiKeys.list');
        } catch (err) {
          status = isTRPCClientError(err) ? err.data?.httpStatus : `thrown: ${err.message}`;
        }
        controlStatuses.set(status, (controlStatuses.get(status) ?? 0) + 1);
        await sleep(100);
      }
    }

    const load = [caller(1), caller(2), caller(3), controlPlane()];
    await sleep(1000);
    const victim = postmasterPid(srv);
    process.kill(victim, 'SIGKILL');

    // The killed postmaster is reaped at once, never left a zombie.
    await eventually('the killed postmaster to be reaped', () => processState(victim) === null, 5000);
    await eventually('the control plane to answer 503', () => controlStatuses.has(503), 10_000);
    assert.equal(await statusOf(`${srv.url}/readyz`), 503, '/readyz while the database is down');
    assert.equal(await statusOf(`${srv.url}/healthz`), 200, '/healthz while a restart is pending');

    await eventually('/readyz back to 200', async () => (await statusOf(`${srv.url}/readyz`)) === 200, 40_000);
    await eventually('the LISTEN listener to reconnect', () =>
      Number(psql(srv, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'`)) > 0,
    );
    await sleep(1000);
    running = false;
    await Promise.all(load);

    assert.deepEqual(callFailures, [], 'every completion call succeeded');
    assert.ok(requestIds.size > 30, `calls made: ${requestIds.size}`);
    for (const status of controlStatuses.keys()) assert.ok(status === 200 || status === 503, `control plane answered ${status}`);
    assert.ok(controlStatuses.get(200) > 0);
    // After the recovery the control plane works again.
    assert.ok(Array.isArray(await owner.query('apiKeys.list')));

    const fresh = postmasterPid(srv);
    assert.notEqual(fresh, victim);
    assert.notEqual(processState(fresh), null, 'postmaster.pid names the live restarted server');
    assert.equal(await metric(srv, 'nyxgate_embedded_postgres_restarts_total'), 1);
    assert.equal(await metric(srv, 'nyxgate_embedded_postgres_up'), 1);
    const lines = logLines(srv);
    assert.ok(lines.some((l) => l.msg === 'embedded postgres exited' && l.level === 'error'), tail(srv.stderr(), 30));
    assert.ok(lines.some((l) => l.msg === 'embedded postgres restarted' && l.attempt === 1), tail(srv.stderr(), 30));

    // Every call made has its usage row (failed batches are put back and written later).
    const ids = [...requestIds].map((id) => `'${id}'`).join(',');
    await eventually('every usage row', () => Number(psql(srv, `SELECT count(DISTINCT request_id) FROM usage_events WHERE request_id IN (${ids})`)) === requestIds.size, 15_000);
  });
});

describe('embedded PostgreSQL that cannot be restarted', () => {
  it('gives up after the configured restarts: a fatal log line and a non-zero exit', async () => {
    const srv = await startServer({
      extraFlags: [
        '--database.embedded_restart_backoff_ms=100',
        '--database.embedded_max_restarts=2',
        '--server.shutdown_grace_ms=500',
      ],
    });
    try {
      // Every later start of the server fails on this line.
      appendFileSync(path.join(srv.dataDir, 'postgres', 'postgresql.conf'), 'no_such_setting_for_the_test = 1\n');
      process.kill(postmasterPid(srv), 'SIGKILL');
      const exited = await Promise.race([srv.exited, sleep(60_000).then(() => null)]);
      assert.ok(exited, `nyxgate did not exit\n${tail(srv.stderr(), 30)}`);
      assert.equal(exited.code, 1, tail(srv.stderr(), 30));
      const lines = logLines(srv);
      const failures = lines.filter((l) => l.msg === 'embedded postgres restart failed');
      assert.equal(failures.length, 2, tail(srv.stderr(), 30));
      assert.match(failures[0].error, /no_such_setting_for_the_test/);
      const fatal = lines.find((l) => l.level === 'fatal');
      assert.ok(fatal, tail(srv.stderr(), 30));
      assert.match(fatal.msg, /embedded postgres could not be restarted/);
      assert.equal(fatal.failed_restarts, 2);
      // Nothing is left running on the data folder.
      assert.ok(!existsSync(path.join(srv.dataDir, 'postgres', 'postmaster.pid')) || processState(postmasterPid(srv)) === null);
    } finally {
      await srv.stop();
    }
  });
});
