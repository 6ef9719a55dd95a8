// The provider circuit end to end, through the official `openai` client against a real
// `nyxgate serve` and the HTTPS mock: a primary whose upstream answers 503 call after call
// opens its circuit after `circuit.failure_threshold` calls; then a call moves to the fallback
// at once, listing `circuit_open`, and the primary's upstream sees no request for it; after
// the cool-down one probe goes through and its success closes the circuit.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { sleep, startServer, stopChecked } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

const THRESHOLD = 3;
const COOLDOWN_S = 2;

/** A raw non-stream call: status, headers and the parsed body. */
function rawChat(baseUrl, token, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL('/v1/chat/completions', baseUrl),
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(text) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('the provider circuit', () => {
  let mock;
  let srv;
  let owner;
  let client;
  const secrets = [];

  async function addKey(provider, behaviour) {
    const key = `sk-${behaviour}-circuit-${Math.random().toString(36).slice(2, 12)}`;
    secrets.push(key);
    const row = await owner.mutation('apiKeys.create', { provider, name: `${provider} ${behaviour}`, key, isPersonal: false });
    return { ...row, key, fp: fingerprint(key) };
  }

  function callsWith(key) {
    return mock.requests.filter((r) => r.kind === 'chat' && r.keyFingerprint === key.fp);
  }

  before(async () => {
    mock = await startMockProviders({});
    srv = await startServer({
      extraFlags: [
        `--tls.ca_file=${mock.caFile}`,
        ...providerFlags(mock.url),
        '--gateway.retries=0',
        '--gateway.timeout_ms=8000',
        `--circuit.failure_threshold=${THRESHOLD}`,
        `--circuit.cooldown_s=${COOLDOWN_S}`,
      ],
    });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    client = new OpenAI({ apiKey: srv.token, baseURL: `${srv.url}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets);
    if (mock) await mock.close();
  });

  it('opens after repeated 5xx, fails over at once, and a probe after the cool-down closes it', async () => {
    const flaky = await addKey('openai', 'flaky');
    const fallback = await addKey('anthropic', 'good');
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: 'anthropic' });
    const ask = () =>
      client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }).withResponse();

    // Closed: each call tries the primary (503), then the fallback serves.
    for (let i = 1; i <= THRESHOLD; i += 1) {
      const { response } = await ask();
      assert.equal(response.headers.get('x-nyxgate-provider'), 'anthropic');
      assert.equal(response.headers.get('x-nyxgate-attempts'), '2');
      assert.equal(callsWith(flaky).length, i);
    }

    // Open: the primary is skipped without a request; the fallback still serves.
    const { response } = await ask();
    assert.equal(response.headers.get('x-nyxgate-provider'), 'anthropic');
    assert.equal(response.headers.get('x-nyxgate-fallback'), 'true');
    assert.equal(response.headers.get('x-nyxgate-attempts'), '2');
    assert.equal(callsWith(flaky).length, THRESHOLD, 'an open circuit sends nothing upstream');
    assert.equal(callsWith(fallback).length, THRESHOLD + 1);

    // Without a fallback the 502 lists the refused attempt.
    const pinned = await rawChat(srv.url, srv.token, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(pinned.status, 502);
    assert.equal(pinned.body.error.code, 'upstream_failed');
    assert.deepEqual(
      pinned.body.error.attempts.map((a) => `${a.provider}:${a.status}:${a.reason}`),
      ['openai:0:circuit_open'],
    );
    assert.equal(callsWith(flaky).length, THRESHOLD);
    // The refusal is not the key's fault: it stays active.
    const row = (await owner.query('apiKeys.list')).find((k) => k.id === flaky.id);
    assert.equal(row.status, 'active');

    // Half-open after the cool-down: one probe reaches the upstream; a good key answers it and
    // the circuit closes.
    await owner.mutation('apiKeys.delete', { id: flaky.id });
    const good = await addKey('openai', 'good');
    await sleep(COOLDOWN_S * 1000 + 300);
    const probe = await ask();
    assert.equal(probe.response.headers.get('x-nyxgate-provider'), 'openai');
    assert.equal(probe.response.headers.get('x-nyxgate-attempts'), '1');
    const closed = await ask();
    assert.equal(closed.response.headers.get('x-nyxgate-provider'), 'openai');
    assert.equal(callsWith(good).length, 2);
  });
});
