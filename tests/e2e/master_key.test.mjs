// The master key of the embedded default (<data_dir>/master.key) against a real `nyxgate serve`:
// a missing file while provider keys are stored is a refusal to start (never a fresh key over
// the old ciphertexts), and `nyxgate rotate-master-key` runs beside the serving node on its
// embedded database while calls keep succeeding, after which every key still decrypts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { commonFlags, freePort, leakedSecrets, psql, runNyxgate, sleep, startServer, stopChecked, tail } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

function goodKey(label) {
  return `sk-good-${label}-${Math.random().toString(36).slice(2, 10)}`;
}

describe('master key file', () => {
  let mock;

  before(async () => {
    mock = await startMockProviders();
  });

  after(async () => {
    if (mock) await mock.close();
  });

  it('missing while api_keys has rows: serve refuses to start and generates no key', async () => {
    const srv = await startServer();
    const keyFile = path.join(srv.dataDir, 'master.key');
    await trpcClient(srv.url, srv.token).mutation('apiKeys.create', { provider: 'openai', name: 'k', key: goodKey('missing') });
    const stopped = await srv.stop({ keepDataDir: true });
    assert.equal(stopped.code, 0);
    renameSync(keyFile, `${keyFile}.moved`);

    const port = await freePort();
    const run = await runNyxgate(['serve', `--server.listen=127.0.0.1:${port}`, ...commonFlags(srv.dataDir)], { timeoutMs: 30_000 });
    assert.equal(run.code, 1, `serve exited ${run.code ?? run.signal}\n${tail(run.stderr, 20)}`);
    assert.match(run.stderr, /master key file .*master\.key is missing/);
    assert.match(run.stderr, /1 provider key/);
    assert.ok(!existsSync(keyFile), 'no new master key was generated');

    // With the file back, the node starts and its key still decrypts.
    renameSync(`${keyFile}.moved`, keyFile);
    const again = await startServer({ init: false, token: srv.token, extraFlags: [`--server.data_dir=${srv.dataDir}`] });
    try {
      const resolved = await trpcClient(again.url, srv.token).query('providers.resolve', {});
      assert.equal(resolved?.provider, 'openai');
    } finally {
      await again.stop();
      await rm(srv.dataDir, { recursive: true, force: true });
    }
  });

  it('rotate-master-key runs while serve runs on the embedded database, under load', async () => {
    const srv = await startServer({ extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)] });
    const secrets = [srv.token];
    try {
      const owner = trpcClient(srv.url, srv.token);
      for (let i = 0; i < 5; ++i) {
        const key = goodKey(`rotate${i}`);
        secrets.push(key);
        await owner.mutation('apiKeys.create', { provider: i % 2 ? 'anthropic' : 'openai', name: `k${i}`, key });
      }
      const client = new OpenAI({ apiKey: srv.token, baseURL: `${srv.url}/v1`, maxRetries: 0 });
      const failures = [];
      let calls = 0;
      let running = true;
      const call = async (model) => {
        try {
          const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'rotate' }] });
          assert.equal(answer.object, 'chat.completion');
          ++calls;
        } catch (err) {
          failures.push(`${model}: ${err.status ?? ''} ${err.message}`);
        }
      };
      const load = (async () => {
        while (running) {
          await Promise.all([call('openai/gpt-4o-mini'), call('anthropic/claude-sonnet-4-5')]);
          await sleep(20);
        }
      })();

      const rotated = await runNyxgate(['rotate-master-key', ...commonFlags(srv.dataDir)], { timeoutMs: 60_000 });
      await sleep(500);
      running = false;
      await load;
      assert.equal(rotated.code, 0, `${rotated.stdout}\n${rotated.stderr}`);
      assert.match(rotated.stdout, /master key rotated to version 2; 5 keys re-sealed/);
      assert.deepEqual(failures, [], 'calls failed during the rotation');
      assert.ok(calls > 10, `calls made: ${calls}`);

      assert.equal(psql(srv, 'SELECT DISTINCT key_version FROM api_keys'), '2');
      const file = readFileSync(path.join(srv.dataDir, 'master.key'), 'utf8');
      assert.ok(!/^1 /m.test(file) && /^2 /m.test(file), 'only version 2 is left in the key file');

      // The serving node reloaded the file: old keys decrypt, new ones are sealed under version 2.
      for (const model of ['openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5']) {
        const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'after' }] });
        assert.equal(answer.choices[0].message.content, 'echo: after');
      }
      const key = goodKey('after');
      secrets.push(key);
      await owner.mutation('apiKeys.create', { provider: 'google', name: 'after', key });
      const answer = await client.chat.completions.create({ model: 'google/gemini-2.5-flash', messages: [{ role: 'user', content: 'new key' }] });
      assert.equal(answer.choices[0].message.content, 'echo: new key');
      assert.ok(!/does not decrypt|master key reload failed/.test(srv.stderr()), tail(srv.stderr(), 20));
      assert.deepEqual(leakedSecrets(rotated.stdout + rotated.stderr, secrets), []);
    } finally {
      await stopChecked(srv, secrets);
    }
  });
});
