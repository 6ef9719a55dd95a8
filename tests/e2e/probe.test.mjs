// apiKeys.test and github.viewer through the official @trpc/client against a real `nyxgate
// serve` whose providers all point at an HTTPS mock (lib/mock_providers.mjs) trusted through
// `--tls.ca_file`. The key value picks the mock's answer: good, invalid, quota, credit, flaky...
// Checks the verdict (reply and apiKeys.list agree), that resolution then skips unusable keys,
// the provider's own auth header on the wire, TLS verification without the CA, and that no
// key value reaches a reply or the log.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import { isTRPCClientError } from '@trpc/client';

import { fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { embeddedConninfo, leakedSecrets, psql, sleep, startServer, tail } from './lib/server.mjs';
import { rejectsWith, trpcClient } from './lib/trpc.mjs';

const VIEWER_FIELDS = ['id', 'keyId', 'keyScope', 'login', 'name', 'scopes'];

/** What nyxgate must send each provider to test a key. */
const WIRE = {
  openai: { path: '/v1/models', auth: 'authorization-bearer' },
  kimi: { path: '/v1/models', auth: 'authorization-bearer' },
  anthropic: { path: '/v1/models', auth: 'x-api-key' },
  google: { path: '/v1beta/models', auth: 'x-goog-api-key' },
  github: { path: '/user', auth: 'authorization-bearer' },
};

function suffix() {
  return Math.random().toString(36).slice(2, 12);
}

async function stopChecked(srv, secrets, label) {
  const stopped = await srv.stop();
  assert.equal(stopped.timedOut, false, `${label}: serve did not exit within 15 s of SIGTERM`);
  assert.equal(stopped.code, 0, `${label}: serve exit code\n${tail(srv.stderr(), 40)}`);
  assert.deepEqual(leakedSecrets(srv.stderr(), secrets), [], `${label}: a key value reached the log`);
}

describe('apiKeys.test and github.viewer against mocked providers', () => {
  let mock;
  let srv;
  let owner;
  const secrets = [];

  /** A distinctive key value: `<prefix>-<behaviour>-e2e-<random>`, remembered as a secret. */
  function keyValue(prefix, behaviour) {
    const k = `${prefix}-${behaviour}-e2e-${suffix()}`;
    secrets.push(k);
    return k;
  }

  async function createKey(provider, key, { isPersonal = false, name = `${provider} key` } = {}) {
    return owner.mutation('apiKeys.create', { provider, name, key, isPersonal });
  }

  async function listed(id) {
    const row = (await owner.query('apiKeys.list')).find((k) => k.id === id);
    assert.ok(row, `key ${id} is not in apiKeys.list`);
    return row;
  }

  /** Runs apiKeys.test on `row`, checks the reply carries no secret, returns [reply, list row after]. */
  async function testKey(row, key) {
    const reply = await owner.mutation('apiKeys.test', { id: row.id });
    assert.ok(!JSON.stringify(reply).includes(key), 'the apiKeys.test reply contains the key');
    return [reply, await listed(row.id)];
  }

  before(async () => {
    // A "slow" key's probe answers after 2 s: time to revoke the key while it runs.
    mock = await startMockProviders({ slowMs: 2_000 });
    srv = await startServer({ extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)] });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets, 'node');
    if (mock) await mock.close();
  });

  beforeEach(async () => {
    if (!owner) return;
    for (const k of await owner.query('apiKeys.list')) await owner.mutation('apiKeys.delete', { id: k.id });
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: null });
  });

  const cases = [
    // [provider, key prefix, behaviour, expected httpStatus, expected status (null: unchanged), reason]
    ['openai', 'sk', 'good', 200, 'active', null],
    ['openai', 'sk', 'invalid', 401, 'invalid', /401/],
    ['openai', 'sk', 'quota', 429, 'cooldown', /quota|429/],
    ['openai', 'sk', 'flaky', 503, null, null],
    ['openai', 'sk', 'ratelimit', 429, null, null],
    ['anthropic', 'sk-ant', 'good', 200, 'active', null],
    ['anthropic', 'sk-ant', 'invalid', 401, 'invalid', /401/],
    ['anthropic', 'sk-ant', 'credit', 400, 'cooldown', /credit/],
    ['google', 'AIza', 'good', 200, 'active', null],
    ['google', 'AIza', 'denied', 403, 'invalid', /403/],
    ['kimi', 'sk-kimi', 'good', 200, 'active', null],
    ['kimi', 'sk-kimi', 'invalid', 401, 'invalid', /401/],
    ['github', 'ghp', 'good', 200, 'active', null],
    ['github', 'ghp', 'invalid', 401, 'invalid', /401/],
  ];

  for (const [provider, prefix, behaviour, httpStatus, status, reason] of cases) {
    const expectation = status ?? 'status unchanged';
    it(`apiKeys.test: ${provider} ${behaviour} key → ${httpStatus}, ${expectation}`, async () => {
      const key = keyValue(prefix, behaviour);
      const row = await createKey(provider, key);
      assert.equal(row.status, 'active');
      const before = mock.requests.length;
      const started = Date.now();

      const [reply, after] = await testKey(row, key);
      const shown = JSON.stringify(reply);
      assert.equal(reply.httpStatus, httpStatus, shown);
      assert.equal(reply.ok, status === 'active', `ok (${shown})`);
      assert.equal(reply.status, status ?? 'active', `status in the reply (${shown})`);
      assert.equal(after.status, reply.status, 'apiKeys.list agrees with the reply');

      if (status === null) {
        // A provider outage or a rate limit says nothing about the key.
        assert.equal(after.cooldownUntil, null, JSON.stringify(after));
      } else if (status === 'active') {
        assert.equal(after.statusReason, null, JSON.stringify(after));
        assert.equal(after.cooldownUntil, null, JSON.stringify(after));
      } else {
        assert.match(after.statusReason ?? '', reason, JSON.stringify(after));
        if ('statusReason' in reply) assert.equal(reply.statusReason, after.statusReason);
        if (status === 'cooldown') {
          assert.ok(after.cooldownUntil, `cooldownUntil is set (${JSON.stringify(after)})`);
          assert.ok(Date.parse(after.cooldownUntil) > started, `cooldownUntil ${after.cooldownUntil} is in the future`);
          if ('cooldownUntil' in reply) assert.equal(reply.cooldownUntil, after.cooldownUntil);
        }
      }
      assert.ok(!after.statusReason?.includes(key), 'statusReason repeats the key');

      // Exactly one cheap call, with this provider's own authentication.
      const calls = mock.requests.slice(before);
      assert.equal(calls.length, 1, JSON.stringify(calls));
      const [call] = calls;
      assert.equal(call.method, 'GET');
      assert.equal(call.path, WIRE[provider].path);
      assert.equal(call.provider, provider);
      assert.equal(call.auth, WIRE[provider].auth);
      assert.equal(call.keyFingerprint, fingerprint(key), 'the mock got the key as created');
      if (provider === 'anthropic') assert.ok(call.anthropicVersion, 'anthropic-version header');
    });
  }

  it('apiKeys.test: a Google key refused with 400 API_KEY_INVALID (how Google answers a bad key) → invalid', async () => {
    const key = keyValue('AIza', 'invalid');
    const row = await createKey('google', key);
    const [reply, after] = await testKey(row, key);
    assert.equal(reply.httpStatus, 400, JSON.stringify(reply));
    assert.equal(reply.ok, false);
    assert.equal(reply.status, 'invalid', `Google says API_KEY_INVALID with 400: ${JSON.stringify(reply)}`);
    assert.equal(after.status, 'invalid');
  });

  it('apiKeys.test: unknown id NOT_FOUND, bad id BAD_REQUEST, no token UNAUTHORIZED', async () => {
    await rejectsWith(owner.mutation('apiKeys.test', { id: '00000000-0000-4000-8000-00000000beef' }), 'NOT_FOUND', 404);
    await rejectsWith(owner.mutation('apiKeys.test', { id: 'nope' }), 'BAD_REQUEST', 400, /id/);
    await rejectsWith(owner.mutation('apiKeys.test', {}), 'BAD_REQUEST', 400, /id/);
    await rejectsWith(trpcClient(srv.url, null).mutation('apiKeys.test', { id: '00000000-0000-4000-8000-00000000beef' }), 'UNAUTHORIZED', 401);
  });

  for (const behaviour of ['good', 'invalid', 'quota']) {
    it(`apiKeys.test on a revoked key (${behaviour}) leaves it revoked`, async () => {
      const key = keyValue('sk', behaviour);
      const row = await createKey('openai', key);
      psql(srv, `UPDATE api_keys SET status = 'revoked', status_reason = 'revoked by hand' WHERE id = '${row.id}'`);
      const [reply, after] = await testKey(row, key);
      assert.equal(reply.status, 'revoked', JSON.stringify(reply));
      assert.equal(after.status, 'revoked', JSON.stringify(after));
      assert.equal(after.statusReason, 'revoked by hand');
      assert.equal(after.cooldownUntil, null);
      assert.equal(psql(srv, `SELECT status FROM api_keys WHERE id = '${row.id}'`), 'revoked');
      // The tenant actor reloaded after the test: a revoked key is never resolved.
      assert.equal(await owner.query('providers.resolve'), null);
    });
  }

  it('apiKeys.test leaves a key revoked while its probe ran revoked', async () => {
    const key = keyValue('sk', 'slow');
    const row = await createKey('openai', key);
    const probing = owner.mutation('apiKeys.test', { id: row.id });
    const deadline = Date.now() + 10_000;
    while (mock.seen('openai', key).length === 0 && Date.now() < deadline) await sleep(20);
    assert.equal(mock.seen('openai', key).length, 1, 'the probe reached the mock');
    psql(srv, `UPDATE api_keys SET status = 'revoked' WHERE id = '${row.id}'`);
    const reply = await probing;
    assert.equal(reply.httpStatus, 200, JSON.stringify(reply));
    assert.equal(reply.status, 'revoked', JSON.stringify(reply));
    assert.equal((await listed(row.id)).status, 'revoked');
    assert.equal(await owner.query('providers.resolve'), null);
  });

  it('apiKeys.replace on a revoked key keeps it revoked', async () => {
    const row = await createKey('openai', keyValue('sk', 'invalid'));
    psql(srv, `UPDATE api_keys SET status = 'revoked' WHERE id = '${row.id}'`);
    const replaced = await owner.mutation('apiKeys.replace', { id: row.id, key: keyValue('sk', 'good') });
    assert.equal(replaced.status, 'revoked', JSON.stringify(replaced));
    assert.equal((await listed(row.id)).status, 'revoked');
    assert.equal(await owner.query('providers.resolve'), null);
  });

  it('resolution skips a key found invalid; replacing it makes it usable again', async () => {
    const goodKey = keyValue('sk', 'good');
    const badKey = keyValue('sk', 'invalid');
    const good = await createKey('openai', goodKey, { name: 'older good' });
    const bad = await createKey('openai', badKey, { name: 'newer invalid' });

    // Untested, the newest tenant key comes first.
    assert.equal((await owner.query('providers.resolve')).keyId, bad.id);
    const [reply] = await testKey(bad, badKey);
    assert.equal(reply.status, 'invalid');
    const resolved = await owner.query('providers.resolve');
    assert.equal(resolved.keyId, good.id, JSON.stringify(resolved));
    assert.equal(resolved.hint, goodKey.slice(-4));
    assert.equal(resolved.scope, 'tenant');
    assert.deepEqual(await owner.query('providers.resolve', { provider: 'openai' }), resolved);

    // The good key in cooldown too: nothing usable for openai.
    const quotaKey = keyValue('sk', 'quota');
    await owner.mutation('apiKeys.replace', { id: good.id, key: quotaKey });
    assert.equal((await testKey(good, quotaKey))[0].status, 'cooldown');
    assert.equal(await owner.query('providers.resolve'), null);

    // Replacing the invalid key clears its status; testing it confirms it.
    const fixedKey = keyValue('sk', 'good');
    const replaced = await owner.mutation('apiKeys.replace', { id: bad.id, key: fixedKey });
    assert.equal(replaced.status, 'active');
    assert.equal((await owner.query('providers.resolve')).keyId, bad.id);
    const [again, row] = await testKey(bad, fixedKey);
    assert.equal(again.status, 'active');
    assert.equal(row.statusReason, null);
    assert.equal((await owner.query('providers.resolve')).keyId, bad.id);
  });

  it('github.viewer: PRECONDITION_FAILED without a GitHub key; tenant key; a personal key wins', async () => {
    await rejectsWith(owner.query('github.viewer'), 'PRECONDITION_FAILED', 412);
    // A key for another provider is no GitHub token.
    await createKey('openai', keyValue('sk', 'good'));
    await rejectsWith(owner.query('github.viewer'), 'PRECONDITION_FAILED', 412);

    const tenantKey = keyValue('ghp', 'good');
    const tenantRow = await createKey('github', tenantKey, { name: 'team github' });
    const before = mock.requests.length;
    const tenantView = await owner.query('github.viewer');
    assert.deepEqual(Object.keys(tenantView).sort(), VIEWER_FIELDS, JSON.stringify(tenantView));
    assert.deepEqual(tenantView, {
      login: 'octocat',
      id: 583231,
      name: 'The Octocat',
      scopes: ['repo', 'read:user'],
      keyId: tenantRow.id,
      keyScope: 'tenant',
    });
    const calls = mock.requests.slice(before);
    assert.equal(calls.length, 1, JSON.stringify(calls));
    assert.equal(calls[0].path, '/user');
    assert.equal(calls[0].auth, 'authorization-bearer');
    assert.equal(calls[0].keyFingerprint, fingerprint(tenantKey));

    const personalKey = keyValue('ghp', 'good-personal');
    const personal = await createKey('github', personalKey, { name: 'my github', isPersonal: true });
    const personalView = await owner.query('github.viewer');
    assert.deepEqual(personalView, {
      login: 'ada-personal',
      id: 1815,
      name: 'Ada Lovelace',
      scopes: ['repo', 'read:user'],
      keyId: personal.id,
      keyScope: 'personal',
    });
    assert.equal(mock.requests.at(-1).keyFingerprint, fingerprint(personalKey));

    await owner.mutation('apiKeys.delete', { id: personal.id });
    assert.equal((await owner.query('github.viewer')).keyScope, 'tenant');
  });

  it('github.viewer: a GitHub token the API refuses is an error that does not repeat it', async () => {
    const key = keyValue('ghp', 'invalid');
    await createKey('github', key);
    let caught;
    await assert.rejects(owner.query('github.viewer'), (err) => {
      caught = err;
      return true;
    });
    assert.ok(isTRPCClientError(caught), `expected a TRPCClientError, got ${caught}`);
    assert.notEqual(caught.data?.code, 'NOT_FOUND', `github.viewer is missing: ${caught.message}`);
    assert.ok(!caught.message.includes(key), 'the error repeats the token');
    assert.equal(mock.seen('github', key).length, 1);
  });

  describe('a second node that does not trust the mock CA', () => {
    let nodeB;
    let viaB;

    before(async () => {
      nodeB = await startServer({
        init: false,
        token: srv.token,
        extraFlags: [
          `--database.url=${embeddedConninfo(srv)}`,
          `--security.master_key_file=${path.join(srv.dataDir, 'master.key')}`,
          ...providerFlags(mock.url),
        ],
      });
      viaB = trpcClient(nodeB.url, nodeB.token);
    });

    after(async () => {
      if (nodeB) await stopChecked(nodeB, secrets, 'node B');
    });

    it('apiKeys.test fails with a TLS verification error and leaves the key as it was', async () => {
      const key = keyValue('sk', 'good');
      const row = await createKey('openai', key);
      const seenBefore = mock.seen('openai', key).length;
      let outcome;
      try {
        outcome = await viaB.mutation('apiKeys.test', { id: row.id });
      } catch (err) {
        assert.ok(isTRPCClientError(err), `expected a TRPCClientError, got ${err}`);
        assert.notEqual(err.data?.code, 'NOT_FOUND', `apiKeys.test is missing: ${err.message}`);
        outcome = { error: err.message, code: err.data?.code };
      }
      const shown = JSON.stringify(outcome);
      assert.ok(!shown.includes(key), 'the answer contains the key');
      assert.notEqual(outcome.ok, true, shown);
      assert.match(shown, /certificate|verif|tls|ssl/i, `no TLS verification message: ${shown}`);
      assert.equal(mock.seen('openai', key).length, seenBefore, 'no request got through the handshake');
      const after = await listed(row.id);
      assert.equal(after.status, 'active');
      assert.equal(after.cooldownUntil, null);
    });
  });

  it('the mock saw the providers\' own auth headers, and no log holds a key value', () => {
    for (const r of mock.requests) {
      if (r.provider === 'unknown') continue;
      assert.equal(r.auth, WIRE[r.provider].auth, JSON.stringify(r));
      assert.equal(r.path, WIRE[r.provider].path, JSON.stringify(r));
    }
    const providers = new Set(mock.requests.map((r) => r.provider));
    for (const p of Object.keys(WIRE)) assert.ok(providers.has(p), `no call reached the ${p} mock`);
    assert.ok(secrets.length > 15);
    assert.deepEqual(leakedSecrets(srv.stderr(), secrets), [], 'a key value reached the log');
  });
});
