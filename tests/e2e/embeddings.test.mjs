// POST /v1/embeddings through the official `openai` npm client against a real `nyxgate serve`
// whose providers point at the HTTPS mock (lib/mock_embeddings.mjs makes its vectors from a
// hash of the text, so what arrives is compared value for value): the SDK's default base64
// encoding and floats, `dimensions`, model "auto" on an OpenAI- and a Google-primary tenant,
// named models, failover from a spent OpenAI key to Google, the usage rows, tenant isolation
// and the 400s for bad input.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { decodeVectorBase64, embeddingVector } from './lib/mock_embeddings.mjs';
import { fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { psql, seedTenant, sleep, startServer, stopChecked } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

function suffix() {
  return Math.random().toString(36).slice(2, 12);
}

/** Float32 equality, element by element (the gateway carries float32s, as OpenAI does). */
function assertVector(actual, expected) {
  assert.equal(actual.length, expected.length);
  assert.deepEqual(actual.map(Math.fround), expected.map(Math.fround));
}

describe('POST /v1/embeddings through the openai SDK', () => {
  let mock;
  let srv;
  let owner;
  let client;
  const secrets = [];
  const created = [];

  async function addKey(provider, behaviour, admin = owner) {
    const key = `${provider === 'kimi' ? 'kimi' : 'sk'}-${behaviour}-emb-${suffix()}`;
    secrets.push(key);
    const row = await admin.mutation('apiKeys.create', { provider, name: `${provider} ${behaviour}`, key, isPersonal: false });
    if (admin === owner) created.push(row.id);
    return { ...row, key, fp: fingerprint(key) };
  }

  const defaults = (primary, fallback = null) => owner.mutation('llmDefaults.update', { primary, fallback });
  const callsWith = (key) => mock.embeddingCalls(undefined, key.key);

  /** A raw call, for what the SDK would not send. */
  async function raw(body, token = srv.token) {
    const res = await fetch(`${srv.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  before(async () => {
    mock = await startMockProviders();
    srv = await startServer({
      extraFlags: [
        `--tls.ca_file=${mock.caFile}`,
        ...providerFlags(mock.url),
        '--gateway.retries=1',
        '--gateway.backoff_base_ms=20',
        '--circuit.failure_threshold=0',
      ],
    });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    client = new OpenAI({ apiKey: srv.token, baseURL: `${srv.url}/v1`, maxRetries: 0 });
  });

  afterEach(async () => {
    while (created.length) await owner.mutation('apiKeys.delete', { id: created.pop() });
    await defaults('openai');
    mock.resetCounters();
  });

  after(async () => {
    await stopChecked(srv, secrets);
    await mock.close();
  });

  it("the SDK's default base64 brings the mock's vectors, from the auto model", async () => {
    const key = await addKey('openai', 'good');
    const { data, response } = await client.embeddings.create({ model: 'auto', input: 'the quick brown fox' }).withResponse();
    assert.equal(data.object, 'list');
    assert.equal(data.data.length, 1);
    assert.equal(data.data[0].index, 0);
    assertVector(data.data[0].embedding, embeddingVector('the quick brown fox', 1536));
    assert.equal(data.model, 'text-embedding-3-small');
    assert.deepEqual(data.usage, { prompt_tokens: 4, total_tokens: 4 });
    assert.equal(response.headers.get('x-nyxgate-provider'), 'openai');
    assert.equal(response.headers.get('x-nyxgate-model'), 'text-embedding-3-small');
    const [sent] = callsWith(key);
    assert.equal(sent.path, '/v1/embeddings');
    // nyxgate always asks for floats and encodes base64 itself.
    assert.deepEqual(sent.body, { model: 'text-embedding-3-small', input: 'the quick brown fox', encoding_format: 'float' });
  });

  it('floats, several inputs and dimensions arrive in input order', async () => {
    const key = await addKey('openai', 'good');
    const input = ['alpha', 'beta gamma', 'delta'];
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float', dimensions: 8, user: 'u-1' });
    assert.equal(res.data.length, 3);
    res.data.forEach((d, i) => {
      assert.equal(d.index, i);
      assert.equal(d.object, 'embedding');
      assertVector(d.embedding, embeddingVector(input[i], 8));
    });
    assert.equal(res.usage.prompt_tokens, 4);
    const [sent] = callsWith(key);
    assert.deepEqual(sent.body, { model: 'text-embedding-3-small', input, encoding_format: 'float', dimensions: 8, user: 'u-1' });
  });

  it('base64 on the wire decodes to the same float32s', async () => {
    await addKey('openai', 'good');
    const r = await raw({ input: ['one', 'two'], encoding_format: 'base64', dimensions: 16 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(typeof r.body.data[1].embedding, 'string');
    assert.deepEqual(decodeVectorBase64(r.body.data[1].embedding), embeddingVector('two', 16));
    assert.deepEqual(decodeVectorBase64(r.body.data[0].embedding), embeddingVector('one', 16));
  });

  it('token arrays go to OpenAI verbatim', async () => {
    const key = await addKey('openai', 'good');
    const r = await raw({ model: 'text-embedding-3-small', input: [[1, 2, 3], [4]], encoding_format: 'float', dimensions: 4 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(callsWith(key)[0].body.input, [[1, 2, 3], [4]]);
    assertVector(r.body.data[0].embedding, embeddingVector('1,2,3', 4));
    assert.equal(r.body.usage.prompt_tokens, 4);
  });

  it('a Google-primary tenant gets gemini-embedding-001 through batchEmbedContents', async () => {
    await defaults('google');
    const key = await addKey('google', 'good');
    const input = ['ein Satz', 'zwei'];
    const { data, response } = await client.embeddings.create({ input, dimensions: 12 }).withResponse();
    assert.equal(response.headers.get('x-nyxgate-provider'), 'google');
    assert.equal(data.model, 'gemini-embedding-001');
    data.data.forEach((d, i) => assertVector(d.embedding, embeddingVector(input[i], 12)));
    // Gemini reports no usage: four bytes a token, rounded up.
    assert.equal(data.usage.prompt_tokens, Math.ceil(Buffer.byteLength(input.join('')) / 4));
    const [sent] = callsWith(key);
    assert.equal(sent.path, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
    assert.deepEqual(sent.body, {
      requests: input.map((text) => ({ model: 'models/gemini-embedding-001', content: { parts: [{ text }] }, outputDimensionality: 12 })),
    });
  });

  it('named models pick their provider', async () => {
    await addKey('openai', 'good');
    const google = await addKey('google', 'good');
    const named = await client.embeddings.create({ model: 'google/gemini-embedding-001', input: 'x', encoding_format: 'float' }).withResponse();
    assert.equal(named.response.headers.get('x-nyxgate-provider'), 'google');
    assert.equal(callsWith(google).length, 1);
    const bare = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'y', encoding_format: 'float' }).withResponse();
    assert.equal(bare.response.headers.get('x-nyxgate-provider'), 'openai');
    assert.equal(bare.data.model, 'text-embedding-3-large');
    assert.equal(bare.data.data[0].embedding.length, 3072);
  });

  it('a spent OpenAI key fails over to Google and goes to cooldown', async () => {
    await defaults('openai', 'google');
    const spent = await addKey('openai', 'quota');
    const google = await addKey('google', 'good');
    const { data, response } = await client.embeddings.create({ input: 'fail over' }).withResponse();
    assert.equal(response.headers.get('x-nyxgate-provider'), 'google');
    assert.equal(response.headers.get('x-nyxgate-fallback'), 'true');
    assert.equal(response.headers.get('x-nyxgate-attempts'), '2');
    assertVector(data.data[0].embedding, embeddingVector('fail over', 3072));
    assert.equal(callsWith(spent).length, 1);
    assert.equal(callsWith(google).length, 1);
    const deadline = Date.now() + 3_000;
    let row;
    do {
      row = (await owner.query('apiKeys.list')).find((k) => k.id === spent.id);
      if (row.status === 'cooldown') break;
      await sleep(20);
    } while (Date.now() < deadline);
    assert.equal(row.status, 'cooldown');
  });

  it('an invalid key on every provider is a 502 listing the attempts', async () => {
    await defaults('openai', 'google');
    await addKey('openai', 'invalid');
    await addKey('google', 'invalid');
    const r = await raw({ input: 'nobody' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'upstream_failed');
    assert.deepEqual(r.body.error.attempts.map((a) => a.provider), ['openai', 'google']);
  });

  it("the provider's own 400 (dimensions its model cannot give) is answered without failover", async () => {
    await defaults('openai', 'google');
    const openai = await addKey('openai', 'good');
    const google = await addKey('google', 'good');
    const r = await raw({ input: 'x', dimensions: 5000 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'upstream_rejected');
    assert.match(r.body.error.message, /dimensions/);
    assert.equal(callsWith(openai).length, 1);
    assert.equal(callsWith(google).length, 0);
  });

  it('usage rows say embeddings, with the prompt tokens and no completion tokens', async () => {
    await addKey('openai', 'good');
    const { response } = await client.embeddings.create({ input: 'count these four words', encoding_format: 'float' }).withResponse();
    const id = response.headers.get('x-request-id');
    let row = '';
    for (let i = 0; i < 100 && !row; i += 1) {
      row = psql(srv, `SELECT operation, provider, model, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, status FROM usage_events WHERE request_id = '${id}'`);
      if (!row) await sleep(50);
    }
    assert.equal(row, 'embeddings|openai|text-embedding-3-small|4|0|0|0|ok');
  });

  it("another tenant's keys are never used", async () => {
    const otherToken = await seedTenant(srv, { slug: `other-${suffix()}`, name: 'Other', email: `o-${suffix()}@other.test` });
    secrets.push(otherToken);
    const other = trpcClient(srv.url, otherToken);
    const theirs = await addKey('openai', 'good', other);
    const r = await raw({ input: 'mine' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'no_provider_key');
    assert.equal(callsWith(theirs).length, 0);
    // Their own call does use it.
    const served = await raw({ input: 'theirs', encoding_format: 'float', dimensions: 2 }, otherToken);
    assert.equal(served.status, 200, JSON.stringify(served.body));
    assert.equal(callsWith(theirs).length, 1);
    await other.mutation('apiKeys.delete', { id: theirs.id });
  });

  it('a chain without an embeddings API is a 400 naming model', async () => {
    await defaults('anthropic', 'kimi');
    const anthropic = await addKey('anthropic', 'good');
    await addKey('kimi', 'good');
    const r = await raw({ input: 'x' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'unsupported_parameter');
    assert.equal(r.body.error.param, 'model');
    assert.match(r.body.error.message, /anthropic, kimi/);
    const named = await raw({ model: 'anthropic/claude-sonnet-4-5', input: 'x' });
    assert.equal(named.status, 400);
    assert.equal(named.body.error.param, 'model');
    assert.equal(mock.requests.filter((q) => q.keyFingerprint === anthropic.fp).length, 0);
  });

  it('token arrays with Google in the chain are a 400 naming input', async () => {
    await defaults('openai', 'google');
    await addKey('openai', 'good');
    await addKey('google', 'good');
    const r = await raw({ input: [1, 2, 3] });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'input');
    assert.equal(r.body.error.code, 'unsupported_parameter');
  });

  const bad = [
    ['no input', { model: 'auto' }, 'input', 'invalid_request'],
    ['an empty string', { input: '' }, 'input', 'invalid_request'],
    ['an empty array', { input: [] }, 'input', 'invalid_request'],
    ['mixed items', { input: ['a', 1] }, 'input', 'invalid_request'],
    ['a negative token', { input: [[1, -2]] }, 'input', 'invalid_request'],
    ['too many inputs', { input: Array(2049).fill('a') }, 'input', 'invalid_request'],
    ['an unknown field', { input: 'a', tempo: 1 }, 'tempo', 'unknown_parameter'],
    ['a bad encoding', { input: 'a', encoding_format: 'int8' }, 'encoding_format', 'invalid_request'],
    ['zero dimensions', { input: 'a', dimensions: 0 }, 'dimensions', 'invalid_request'],
    ['fractional dimensions', { input: 'a', dimensions: 1.5 }, 'dimensions', 'invalid_request'],
    ['a bad model name', { input: 'a', model: 'x y' }, 'model', 'invalid_model'],
    ['a non-string user', { input: 'a', user: 3 }, 'user', 'invalid_request'],
  ];
  for (const [what, body, param, code] of bad) {
    it(`${what} is a 400 naming ${param}`, async () => {
      const key = await addKey('openai', 'good');
      const r = await raw(body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.type, 'invalid_request_error');
      assert.equal(r.body.error.param, param);
      assert.equal(r.body.error.code, code);
      assert.equal(callsWith(key).length, 0);
    });
  }

  it('a body that is no JSON object is a 400; GET is a 405; no token a 401', async () => {
    assert.equal((await raw('[1,2]')).status, 400);
    assert.equal((await raw('{"input":')).status, 400);
    const get = await fetch(`${srv.url}/v1/embeddings`, { headers: { authorization: `Bearer ${srv.token}` } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    await get.arrayBuffer();
    const anonymous = await fetch(`${srv.url}/v1/embeddings`, { method: 'POST', body: '{"input":"a"}' });
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error.code, 'missing_api_key');
  });
});
