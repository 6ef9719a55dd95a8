// The OpenAI-compatible data plane through the official `openai` npm client against a real
// `nyxgate serve` whose providers all point at the HTTPS mock (lib/mock_providers.mjs): each
// provider stream and non-stream, translation checked on the wire, the x-nyxgate-* headers,
// and every rule of SPEC §3 (retry, Retry-After, key failures with cooldown/invalid, client
// errors without failover, commit before first content, no failover after commit, 502
// listing attempts, client disconnect cancelling the upstream call), plus usage rows.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { ECHO_PREFIX, fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import {
  commonFlags,
  embeddedConninfo,
  freePort,
  leakedSecrets,
  nyxgateBin,
  sleep,
  startServer,
  tail,
} from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

const MODELS = {
  openai: 'openai/gpt-4o-mini',
  anthropic: 'anthropic/claude-sonnet-4-5',
  google: 'google/gemini-2.5-flash',
  kimi: 'kimi/kimi-k2-0905-preview',
};

function suffix() {
  return Math.random().toString(36).slice(2, 12);
}

/** Raw SSE call: returns status, headers and the `data:` payloads as they came. */
function rawChat(baseUrl, token, body, { onFirstData, signal } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL('/v1/chat/completions', baseUrl);
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        signal,
      },
      (res) => {
        let text = '';
        let first = true;
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
          if (first && onFirstData) {
            first = false;
            onFirstData(req, res);
          }
        });
        res.on('end', () => {
          const data = text
            .split('\n\n')
            .filter((e) => e.startsWith('data: '))
            .map((e) => e.slice(6));
          resolve({ status: res.statusCode, headers: res.headers, text, data });
        });
        res.on('error', reject);
        res.on('aborted', () => resolve({ status: res.statusCode, headers: res.headers, text, aborted: true }));
      },
    );
    req.on('error', (e) => (e.name === 'AbortError' ? resolve({ aborted: true }) : reject(e)));
    req.end(JSON.stringify(body));
  });
}

/** Stops the server (checking it exited cleanly and logged none of `secrets`), then the mock. */
async function stopAll(srv, mock, secrets) {
  if (srv) {
    const stopped = await srv.stop();
    assert.equal(stopped.code, 0, tail(srv.stderr(), 40));
    assert.deepEqual(leakedSecrets(srv.stderr(), secrets), [], 'a key or token reached the log');
  }
  if (mock) await mock.close();
}

describe('POST /v1/chat/completions through the openai SDK', () => {
  let mock;
  let srv;
  let owner;
  let client;
  const secrets = [];
  const created = [];

  function keyValue(provider, behaviour) {
    // Kimi keys must say "kimi" for the mock to answer in Kimi's name.
    const k = `${provider === 'kimi' ? 'kimi' : 'sk'}-${behaviour}-chat-${suffix()}`;
    secrets.push(k);
    return k;
  }

  async function addKey(provider, behaviour, { isPersonal = false } = {}) {
    const key = keyValue(provider, behaviour);
    const row = await owner.mutation('apiKeys.create', { provider, name: `${provider} ${behaviour}`, key, isPersonal });
    created.push(row.id);
    return { ...row, key, fp: fingerprint(key) };
  }

  async function keyRow(id) {
    return (await owner.query('apiKeys.list')).find((k) => k.id === id);
  }

  /** The status change is written off the request path: wait (briefly) until it shows. */
  async function keyRowWithStatus(id, status) {
    const deadline = Date.now() + 3_000;
    let row = await keyRow(id);
    while (row.status !== status && Date.now() < deadline) {
      await sleep(20);
      row = await keyRow(id);
    }
    return row;
  }

  function callsWith(key) {
    return mock.requests.filter((r) => r.kind === 'chat' && r.keyFingerprint === key.fp);
  }

  async function defaults(primary, fallback = null) {
    await owner.mutation('llmDefaults.update', { primary, fallback });
  }

  function psql(sql) {
    return execFileSync('psql', [embeddedConninfo(srv), '-Atc', sql], { encoding: 'utf8' }).trim();
  }

  before(async () => {
    mock = await startMockProviders({ slowMs: 3_000, chunkDelayMs: 100, slowStreamChunks: 40 });
    srv = await startServer({
      extraFlags: [
        `--tls.ca_file=${mock.caFile}`,
        ...providerFlags(mock.url),
        '--gateway.retries=2',
        '--gateway.backoff_base_ms=20',
        // Failures are scripted call after call here: no circuit may take a provider out.
        '--circuit.failure_threshold=0',
        '--gateway.timeout_ms=8000',
      ],
    });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    client = new OpenAI({ apiKey: srv.token, baseURL: `${srv.url}/v1`, maxRetries: 0 });
  });

  afterEach(async () => {
    while (created.length) await owner.mutation('apiKeys.delete', { id: created.pop() });
    mock.resetCounters();
    mock.configure({ dropAfterChunks: 1 });
  });

  after(() => stopAll(srv, mock, secrets));

  for (const provider of Object.keys(MODELS)) {
    it(`${provider}: non-stream answer is translated, with the served-by headers`, async () => {
      const key = await addKey(provider, 'good');
      const { data, response } = await client.chat.completions
        .create({
          model: MODELS[provider],
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'first question' },
            { role: 'assistant', content: 'first answer' },
            { role: 'user', content: `hello ${provider} world` },
          ],
          temperature: 0.5,
        })
        .withResponse();
      assert.equal(data.object, 'chat.completion');
      assert.equal(data.choices[0].message.role, 'assistant');
      assert.equal(data.choices[0].message.content, `${ECHO_PREFIX}hello ${provider} world`);
      assert.equal(data.choices[0].finish_reason, 'stop');
      assert.ok(data.usage.prompt_tokens > 0 && data.usage.completion_tokens === 4, JSON.stringify(data.usage));
      assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
      const h = response.headers;
      assert.equal(h.get('x-nyxgate-provider'), provider);
      assert.equal(h.get('x-nyxgate-model'), MODELS[provider].split('/')[1]);
      assert.equal(h.get('x-nyxgate-key-scope'), 'tenant');
      assert.equal(h.get('x-nyxgate-fallback'), 'false');
      assert.equal(h.get('x-nyxgate-attempts'), '1');
      assert.match(h.get('x-nyxgate-overhead-us'), /^\d+$/);
      assert.match(h.get('x-request-id'), /.+/);
      const [sent] = callsWith(key);
      assert.ok(sent, 'the mock saw no call with the key');
      // The tenant default (16384) applies when the request names no max_tokens.
      const b = sent.body;
      if (provider === 'anthropic') {
        assert.equal(b.system, 'Be brief.');
        assert.equal(b.max_tokens, 16384);
        assert.equal(b.messages.length, 3);
      } else if (provider === 'google') {
        assert.equal(b.systemInstruction.parts[0].text, 'Be brief.');
        assert.equal(b.generationConfig.maxOutputTokens, 16384);
        assert.deepEqual(b.contents.map((c) => c.role), ['user', 'model', 'user']);
      } else {
        assert.equal(b.messages[0].role, 'system');
        assert.equal(b.max_tokens ?? b.max_completion_tokens, 16384);
      }
    });

    it(`${provider}: stream arrives chunk by chunk with usage and [DONE]`, async () => {
      await addKey(provider, 'good');
      const stream = await client.chat.completions.create({
        model: MODELS[provider],
        messages: [{ role: 'user', content: 'one two three four five six' }],
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 100,
      });
      let text = '';
      let chunks = 0;
      let finish = null;
      let usage = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (!choice) continue;
        chunks += 1;
        text += choice.delta.content ?? '';
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      assert.equal(text, `${ECHO_PREFIX}one two three four five six`);
      assert.ok(chunks >= 4, `only ${chunks} chunks`);
      assert.equal(finish, 'stop');
      assert.ok(usage && usage.completion_tokens === 7, JSON.stringify(usage));
    });
  }

  it('a stop sequence and max_tokens reach the provider and come back as finish_reason', async () => {
    const key = await addKey('anthropic', 'good');
    const r = await client.chat.completions.create({
      model: MODELS.anthropic,
      messages: [{ role: 'user', content: 'alpha beta gamma delta epsilon' }],
      max_tokens: 3,
    });
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(callsWith(key)[0].body.max_tokens, 3);
    const s = await client.chat.completions.create({
      model: MODELS.anthropic,
      messages: [{ role: 'user', content: 'alpha beta STOP gamma' }],
      stop: ['STOP'],
    });
    assert.equal(s.choices[0].finish_reason, 'stop');
    assert.deepEqual(callsWith(key)[1].body.stop_sequences, ['STOP']);
  });

  it('tools, a tool round and an image reach OpenAI as sent, and usage has its details', async () => {
    const key = await addKey('openai', 'good');
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true } }];
    const messages = [
      { role: 'user', content: [{ type: 'text', text: 'weather here?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ];
    const responseFormat = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false }, strict: true } };
    const r = await client.chat.completions.create({
      model: MODELS.openai, messages, tools, tool_choice: 'required', parallel_tool_calls: false, response_format: responseFormat,
    });
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 0);
    assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);
    const sent = callsWith(key).at(-1).body;
    assert.deepEqual(sent.messages, messages);
    assert.deepEqual(sent.tools, tools);
    assert.equal(sent.tool_choice, 'required');
    assert.equal(sent.parallel_tool_calls, false);
    assert.deepEqual(sent.response_format, responseFormat);
  });

  it('a personal key wins over the tenant key', async () => {
    await addKey('openai', 'good');
    const mine = await addKey('openai', 'good', { isPersonal: true });
    await defaults('openai');
    const { response } = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(response.headers.get('x-nyxgate-key-scope'), 'personal');
    assert.equal(callsWith(mine).length, 1);
  });

  it('a flaky 503 is retried on the same key and then succeeds', async () => {
    const key = await addKey('openai', 'flaky1');
    const { response } = await client.chat.completions
      .create({ model: MODELS.openai, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(response.headers.get('x-nyxgate-attempts'), '2');
    assert.equal(callsWith(key).length, 2);
  });

  it('429 with Retry-After waits that long before the retry', async () => {
    const key = await addKey('openai', 'ratelimit');
    const started = Date.now();
    const err = await client.chat.completions
      .create({ model: MODELS.openai, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    const took = Date.now() - started;
    // 1 + 2 retries, each after the provider's Retry-After: 1 s.
    assert.equal(callsWith(key).length, 3);
    assert.ok(took >= 1900, `retries came after ${took} ms`);
    assert.equal(err.status, 502);
    assert.equal(err.code, 'upstream_failed');
  });

  it('an invalid primary key fails over to the fallback provider and is marked invalid', async () => {
    const bad = await addKey('openai', 'invalid');
    const good = await addKey('anthropic', 'good');
    await defaults('openai', 'anthropic');
    const { data, response } = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'over there' }] })
      .withResponse();
    assert.equal(data.choices[0].message.content, `${ECHO_PREFIX}over there`);
    assert.equal(response.headers.get('x-nyxgate-provider'), 'anthropic');
    assert.equal(response.headers.get('x-nyxgate-fallback'), 'true');
    assert.equal(response.headers.get('x-nyxgate-attempts'), '2');
    assert.equal(callsWith(bad).length, 1, 'a key failure is not retried');
    assert.equal((await keyRowWithStatus(bad.id, 'invalid')).status, 'invalid');
    // The next call skips the invalid key without trying it.
    await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'again' }] });
    assert.equal(callsWith(bad).length, 1);
    assert.equal(callsWith(good).length, 2);
  });

  it('an exhausted quota puts the key into cooldown and the next key serves', async () => {
    const older = await addKey('openai', 'good');
    const quota = await addKey('openai', 'quota');
    const { response } = await client.chat.completions
      .create({ model: MODELS.openai, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(response.headers.get('x-nyxgate-fallback'), 'false');
    const row = await keyRowWithStatus(quota.id, 'cooldown');
    assert.equal(row.status, 'cooldown');
    assert.ok(new Date(row.cooldownUntil) > new Date());
    assert.equal(callsWith(quota).length, 1);
    assert.equal(callsWith(older).length, 1);
  });

  it("a client error (400) goes back to the client without failover", async () => {
    const bad = await addKey('openai', 'badreq');
    const fallback = await addKey('anthropic', 'good');
    await defaults('openai', 'anthropic');
    const err = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(callsWith(bad).length, 1);
    assert.equal(callsWith(fallback).length, 0);
    assert.equal((await keyRow(bad.id)).status, 'active');
  });

  it('an exhausted chain answers 502 upstream_failed listing every attempt', async () => {
    await addKey('openai', 'flaky');
    await addKey('anthropic', 'invalid');
    await defaults('openai', 'anthropic');
    const r = await rawChat(srv.url, srv.token, { model: 'auto', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 502);
    const body = JSON.parse(r.text);
    assert.equal(body.error.code, 'upstream_failed');
    const attempts = body.error.attempts.map((a) => `${a.provider}:${a.scope}:${a.status}`);
    assert.deepEqual(attempts, ['openai:tenant:503', 'openai:tenant:503', 'openai:tenant:503', 'anthropic:tenant:401']);
    assert.ok(body.error.attempts.every((a) => typeof a.reason === 'string' && a.reason.length > 0));
    assert.equal(r.headers['x-nyxgate-attempts'], '4');
  });

  it('a stream that breaks before its first content fails over', async () => {
    mock.configure({ dropAfterChunks: 0 });
    const dropped = await addKey('openai', 'dropped');
    await addKey('google', 'good');
    await defaults('openai', 'google');
    const stream = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'still here' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, `${ECHO_PREFIX}still here`);
    assert.ok(callsWith(dropped).length >= 1);
  });

  it('a stream that breaks after its first content ends with an error event and no [DONE]', async () => {
    const dropped = await addKey('openai', 'dropped');
    const fallback = await addKey('anthropic', 'good');
    await defaults('openai', 'anthropic');
    const r = await rawChat(srv.url, srv.token, {
      model: 'auto',
      messages: [{ role: 'user', content: 'a b c d e f g h' }],
      stream: true,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-nyxgate-provider'], 'openai');
    assert.ok(!r.data.includes('[DONE]'), r.text);
    const last = JSON.parse(r.data.at(-1));
    assert.equal(last.error.code, 'stream_interrupted');
    assert.ok(r.data.some((d) => d.includes(ECHO_PREFIX.trim())), 'the first content reached the client');
    assert.equal(callsWith(dropped).length, 1);
    assert.equal(callsWith(fallback).length, 0, 'no failover after commit');
  });

  it('a client that disconnects mid-stream cancels the upstream call', async () => {
    await addKey('openai', 'slowstream');
    const controller = new AbortController();
    const r = await rawChat(
      srv.url,
      srv.token,
      { model: MODELS.openai, messages: [{ role: 'user', content: 'long story' }], stream: true },
      { signal: controller.signal, onFirstData: () => controller.abort() },
    );
    assert.ok(r.aborted);
    await mock.waitFor(() => mock.stats().aborted >= 1, 5_000, 'the upstream call to be aborted');
    assert.equal(mock.activeChats(), 0);
  });

  it('an unknown model, a bad body and a missing key are clear 4xx answers', async () => {
    let err = await client.chat.completions
      .create({ model: 'mystery-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    assert.equal(err.status, 400);
    assert.match(err.message, /unknown model/);
    err = await client.chat.completions.create({ model: 'auto', messages: [] }).catch((e) => e);
    assert.equal(err.status, 400);
    err = await client.chat.completions
      .create({ model: MODELS.kimi, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'no_provider_key');
    const anonymous = new OpenAI({ apiKey: 'ngt_not_a_token', baseURL: `${srv.url}/v1`, maxRetries: 0 });
    err = await anonymous.models.list().catch((e) => e);
    assert.equal(err.status, 401);
    assert.ok(err instanceof OpenAI.AuthenticationError);
  });

  it('GET /v1/models lists the providers this user has a usable key for', async () => {
    await addKey('anthropic', 'good');
    await addKey('google', 'good');
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('auto'));
    assert.ok(ids.some((id) => id.startsWith('anthropic/')));
    assert.ok(ids.some((id) => id.startsWith('google/')));
    assert.ok(!ids.some((id) => id.startsWith('kimi/')));
  });

  it('a model name that would steer the upstream URL is refused and nothing goes upstream', async () => {
    for (const provider of Object.keys(MODELS)) await addKey(provider, 'good');
    const bad = [
      'google/../../../evil/path?x=1#',
      'google/gemini-2.5-flash/../../x',
      'google/..',
      'google/gemini%2F..%2Fx',
      'google/gemini 2.5',
      'gemini-2.5-flash?alt=json',
      'openai/gpt-4o#frag',
      'anthropic/claude\\..\\x',
      `kimi/${'k'.repeat(200)}`,
    ];
    const seen = mock.requests.length;
    for (const model of bad) {
      for (const stream of [false, true]) {
        const r = await rawChat(srv.url, srv.token, { model, messages: [{ role: 'user', content: 'hi' }], stream });
        assert.equal(r.status, 400, `${model}: ${r.text}`);
        const { error } = JSON.parse(r.text);
        assert.equal(error.param, 'model', model);
        assert.equal(error.type, 'invalid_request_error');
        assert.equal(error.code, 'invalid_model');
      }
    }
    assert.deepEqual(mock.requests.slice(seen).map((q) => q.path), [], 'a request reached the upstream');
    // Names as providers spell them still pass.
    for (const model of ['google/gemini-2.5-flash', 'openai/ft:gpt-4o-mini:acme:custom:9aBc', 'kimi-k2-0905-preview']) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'fine' }] });
      assert.equal(r.choices[0].message.content, `${ECHO_PREFIX}fine`, model);
    }
  });

  it('a parameter nyxgate cannot carry to the provider is refused with a 400 naming both', async () => {
    for (const provider of Object.keys(MODELS)) await addKey(provider, 'good');
    const seen = mock.requests.length;
    const refused = [
      [MODELS.google, { tools: [{ type: 'function', function: { name: 'f', parameters: {} } }], parallel_tool_calls: false }, 'parallel_tool_calls', 'unsupported_parameter'],
      [MODELS.kimi, { reasoning_effort: 'low' }, 'reasoning_effort', 'unsupported_parameter'],
      [MODELS.anthropic, { frobnicate: 1 }, 'frobnicate', 'unsupported_parameter'],
      [MODELS.anthropic, { seed: 7 }, 'seed', 'unsupported_parameter'],
      [MODELS.kimi, { logprobs: true }, 'logprobs', 'unsupported_parameter'],
      [MODELS.openai, { stream_options: { include_usage: true, frobnicate: 1 } }, 'stream_options.frobnicate', 'unknown_parameter'],
    ];
    for (const [model, extra, param, code] of refused) {
      const err = await client.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra })
        .catch((e) => e);
      assert.equal(err.status, 400, `${param}: ${err.message}`);
      assert.equal(err.param, param);
      assert.equal(err.code, code);
      if (code === 'unsupported_parameter') assert.match(err.message, new RegExp(model.split('/')[0]), err.message);
    }
    const toolReply = await client.chat.completions
      .create({
        model: MODELS.openai,
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'tool', tool_call_id: 't1', content: '42' },
        ],
      })
      .catch((e) => e);
    assert.equal(toolReply.status, 400);
    assert.equal(toolReply.param, 'messages[1].tool_call_id');
    assert.deepEqual(mock.requests.slice(seen).map((q) => q.path), [], 'a refused call reached the upstream');
    // Forwarded and translated ones arrive.
    const openai = await addKey('openai', 'good');
    await client.chat.completions.create({ model: MODELS.openai, messages: [{ role: 'user', content: 'hi' }], seed: 7, logit_bias: { 50256: -100 }, top_k: 5 });
    const sent = callsWith(openai).at(-1).body;
    assert.equal(sent.seed, 7);
    assert.deepEqual(sent.logit_bias, { 50256: -100 });
    assert.equal(sent.top_k, 5, 'a field nyxgate does not know goes to OpenAI as sent');
    const google = await addKey('google', 'good');
    await client.chat.completions.create({ model: MODELS.google, messages: [{ role: 'user', content: 'hi' }], seed: 7, presence_penalty: 0.5 });
    const g = callsWith(google).at(-1).body.generationConfig;
    assert.equal(g.seed, 7);
    assert.equal(g.presencePenalty, 0.5);
  });

  for (const state of ['none', 'invalid', 'quota']) {
    const what = { none: 'no key', invalid: 'only an invalid key', quota: 'only a key in cooldown' }[state];
    it(`the fallback says so when the primary has ${what}`, async () => {
      if (state !== 'none') {
        const primary = await addKey('openai', state);
        // One call puts the key out of use (invalid, or in cooldown for a quota).
        await client.chat.completions.create({ model: MODELS.openai, messages: [{ role: 'user', content: 'x' }] }).catch(() => {});
        await keyRowWithStatus(primary.id, state === 'invalid' ? 'invalid' : 'cooldown');
      }
      const fallback = await addKey('anthropic', 'good');
      await defaults('openai', 'anthropic');
      const resolved = await owner.query('providers.resolve', {});
      assert.equal(resolved.viaFallback, true);
      const { response } = await client.chat.completions
        .create({ model: 'auto', messages: [{ role: 'user', content: 'served by the fallback' }] })
        .withResponse();
      assert.equal(response.headers.get('x-nyxgate-provider'), 'anthropic');
      assert.equal(response.headers.get('x-nyxgate-fallback'), 'true');
      assert.equal(response.headers.get('x-nyxgate-attempts'), '1');
      const stream = await rawChat(srv.url, srv.token, { model: 'auto', messages: [{ role: 'user', content: 'x' }], stream: true });
      assert.equal(stream.headers['x-nyxgate-fallback'], 'true');
      assert.equal(callsWith(fallback).length, 2);
      const id = response.headers.get('x-request-id');
      const deadline = Date.now() + 5_000;
      let row = '';
      while (!row && Date.now() < deadline) {
        row = psql(`SELECT provider, fallback, status FROM usage_events WHERE request_id = '${id}'`);
        if (!row) await sleep(100);
      }
      assert.equal(row, 'anthropic|t|ok');
      // A model named outright is never a fallback.
      const pinned = await client.chat.completions
        .create({ model: MODELS.anthropic, messages: [{ role: 'user', content: 'x' }] })
        .withResponse();
      assert.equal(pinned.response.headers.get('x-nyxgate-fallback'), 'false');
    });
  }

  it('every call leaves one usage row', async () => {
    await addKey('openai', 'good');
    const ids = [];
    for (let i = 0; i < 3; i += 1) {
      const { response } = await client.chat.completions
        .create({ model: MODELS.openai, messages: [{ role: 'user', content: 'count me' }] })
        .withResponse();
      ids.push(response.headers.get('x-request-id'));
    }
    assert.equal(new Set(ids).size, 3);
    const where = `request_id IN (${ids.map((id) => `'${id}'`).join(',')})`;
    // The recorder writes in batches at least once a second, never on the request path.
    const deadline = Date.now() + 5_000;
    let count = 0;
    while (Date.now() < deadline) {
      count = Number(psql(`SELECT count(*) FROM usage_events WHERE ${where}`));
      if (count >= 3) break;
      await sleep(100);
    }
    assert.equal(count, 3);
    const rows = psql(
      `SELECT DISTINCT provider, model, key_scope, fallback, status, completion_tokens > 0, latency_ms >= 0, user_id IS NOT NULL FROM usage_events WHERE ${where}`,
    );
    assert.equal(rows, 'openai|gpt-4o-mini|tenant|f|ok|t|t|t');
  });
});

describe('an upstream that sends no content cannot hold a call past its deadline', () => {
  // Short on purpose: the content-idle clock (800 ms) fires before the deadline (2 s).
  const DEADLINE_MS = 2_000;
  const IDLE_MS = 800;
  let mock;
  let srv;
  let owner;
  const secrets = [];
  const created = [];

  async function addKey(provider, behaviour) {
    const key = `${provider === 'kimi' ? 'kimi' : 'sk'}-${behaviour}-idle-${suffix()}`;
    secrets.push(key);
    const row = await owner.mutation('apiKeys.create', { provider, name: `${provider} ${behaviour}`, key });
    created.push(row.id);
    return row;
  }

  function psql(sql) {
    return execFileSync('psql', [embeddedConninfo(srv), '-Atc', sql], { encoding: 'utf8' }).trim();
  }

  /** The call's usage row, once the recorder has written it. */
  async function usageRow(requestId) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const row = psql(`SELECT status, completion_tokens FROM usage_events WHERE request_id = '${requestId}'`);
      if (row || Date.now() > deadline) return row;
      await sleep(100);
    }
  }

  /** A raw call that gives up well after the deadline (a hang fails the test, never the run). */
  async function timedChat(body) {
    const started = Date.now();
    const r = await rawChat(srv.url, srv.token, body, { signal: AbortSignal.timeout(DEADLINE_MS + 5_000) });
    return { ...r, ms: Date.now() - started };
  }

  before(async () => {
    mock = await startMockProviders({ keepAliveMs: 100, trickleMs: 20, chunkDelayMs: 50 });
    srv = await startServer({
      extraFlags: [
        `--tls.ca_file=${mock.caFile}`,
        ...providerFlags(mock.url),
        '--gateway.retries=0',
        '--circuit.failure_threshold=0',
        `--gateway.timeout_ms=${DEADLINE_MS}`,
        `--gateway.stream_idle_timeout_ms=${IDLE_MS}`,
      ],
    });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
  });

  afterEach(async () => {
    while (created.length) await owner.mutation('apiKeys.delete', { id: created.pop() });
    mock.configure({ dropAfterChunks: 1 });
  });

  after(() => stopAll(srv, mock, secrets));

  const silent = [
    ['openai', 'keepalive', 'only SSE comments'],
    ['openai', 'emptyrole', 'only empty role chunks'],
    ['google', 'emptyrole', 'only empty text parts'],
    ['anthropic', 'pings', 'only Anthropic pings'],
    ['openai', 'trickle', 'its answer one byte at a time'],
  ];

  for (const [provider, behaviour, what] of silent) {
    it(`stream: ${provider} sending ${what} times out by the content-idle clock`, async () => {
      await addKey(provider, behaviour);
      const r = await timedChat({ model: MODELS[provider], messages: [{ role: 'user', content: 'anyone there' }], stream: true });
      assert.ok(!r.aborted, `no answer within ${DEADLINE_MS + 5_000} ms`);
      assert.equal(r.status, 502, r.text);
      const body = JSON.parse(r.text);
      assert.equal(body.error.code, 'upstream_failed');
      assert.deepEqual(body.error.attempts.map((a) => [a.provider, a.status, a.reason]), [[provider, 0, 'timeout']]);
      assert.ok(r.ms >= IDLE_MS - 50 && r.ms < DEADLINE_MS, `answered after ${r.ms} ms`);
    });

    it(`non-stream: ${provider} sending ${what} answers 504 at the deadline`, async () => {
      await addKey(provider, behaviour);
      const r = await timedChat({ model: MODELS[provider], messages: [{ role: 'user', content: 'anyone there' }] });
      assert.ok(!r.aborted, `no answer within ${DEADLINE_MS + 5_000} ms`);
      assert.equal(r.status, 504, r.text);
      const body = JSON.parse(r.text);
      assert.equal(body.error.code, 'upstream_timeout');
      assert.equal(body.error.attempts.length, 1, r.text);
      assert.equal(body.error.attempts[0].provider, provider);
      assert.ok(r.ms >= DEADLINE_MS - 50 && r.ms < DEADLINE_MS + 1_000, `answered after ${r.ms} ms`);
      const row = await usageRow(r.headers['x-request-id']);
      assert.match(row, /^error\|/);
    });
  }

  it('a silent primary fails over to the fallback before the deadline', async () => {
    await addKey('openai', 'keepalive');
    await addKey('anthropic', 'good');
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: 'anthropic' });
    const r = await timedChat({ model: 'auto', messages: [{ role: 'user', content: 'over there' }], stream: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-nyxgate-provider'], 'anthropic');
    assert.equal(r.headers['x-nyxgate-attempts'], '2');
    assert.equal(r.data.at(-1), '[DONE]');
    assert.ok(r.ms >= IDLE_MS - 50, `answered after ${r.ms} ms`);
  });

  it('content, then only keep-alive comments: the committed stream ends with stream_interrupted', async () => {
    await addKey('openai', 'stalled');
    const r = await timedChat({ model: MODELS.openai, messages: [{ role: 'user', content: 'a b c d e f g h' }], stream: true });
    assert.ok(!r.aborted, `no end within ${DEADLINE_MS + 5_000} ms`);
    assert.equal(r.status, 200);
    assert.ok(!r.data.includes('[DONE]'), r.text);
    assert.ok(r.data.some((d) => d.includes(ECHO_PREFIX.trim())), 'the first content reached the client');
    assert.equal(JSON.parse(r.data.at(-1)).error.code, 'stream_interrupted');
    assert.ok(r.ms >= IDLE_MS - 50 && r.ms < DEADLINE_MS, `ended after ${r.ms} ms`);
    const [status, tokens] = (await usageRow(r.headers['x-request-id'])).split('|');
    assert.equal(status, 'truncated');
    assert.ok(Number(tokens) > 0, `completion_tokens ${tokens}`);
  });
});

describe('SIGTERM with a stream still open at the end of the grace', () => {
  /** Serves `dataDir` again (its embedded PostgreSQL stopped with the first node) and runs `sql`. */
  async function queryAfterExit(dataDir, sql) {
    const port = await freePort();
    const child = spawn(nyxgateBin(), ['serve', `--server.listen=127.0.0.1:${port}`, ...commonFlags(dataDir)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const until = Date.now() + 60_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
          .then((r) => r.status === 200)
          .catch(() => false);
        if (ok) break;
        if (Date.now() > until) throw new Error(`second node not ready\n${tail(stderr, 30)}`);
        await sleep(100);
      }
      const conninfo = embeddedConninfo({ dataDir, stderr: () => stderr });
      return execFileSync('psql', [conninfo, '-Atc', sql], { encoding: 'utf8' }).trim();
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }

  it('ends with the stream_interrupted event and a truncated usage row with the delivered tokens', async () => {
    const mock = await startMockProviders({ chunkDelayMs: 100, slowStreamChunks: 40 });
    const srv = await startServer({
      extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url), '--server.shutdown_grace_ms=500'],
    });
    let stopping = null;
    try {
      const owner = trpcClient(srv.url, srv.token);
      await owner.mutation('apiKeys.create', { provider: 'openai', name: 'slow', key: `sk-slowstream-term-${suffix()}` });
      const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
      const r = await rawChat(
        srv.url,
        srv.token,
        { model: MODELS.openai, messages: [{ role: 'user', content: words }], stream: true },
        { onFirstData: () => (stopping = srv.stop({ keepDataDir: true })) },
      );
      assert.equal(r.status, 200);
      assert.ok(!r.aborted, `the stream was cut without an event: ${r.text}`);
      assert.ok(r.data.length >= 2, r.text);
      assert.ok(!r.data.includes('[DONE]'), r.text);
      assert.equal(JSON.parse(r.data.at(-1)).error.code, 'stream_interrupted', r.text);
      const stopped = await stopping;
      assert.equal(stopped.code, 0, tail(srv.stderr(), 30));
      const row = await queryAfterExit(
        srv.dataDir,
        `SELECT status, completion_tokens FROM usage_events WHERE request_id = '${r.headers['x-request-id']}'`,
      );
      const [status, tokens] = row.split('|');
      assert.equal(status, 'truncated', `usage row: ${row}`);
      assert.ok(Number(tokens) > 0, `completion_tokens ${tokens}`);
    } finally {
      if (!stopping) await srv.stop();
      await rm(srv.dataDir, { recursive: true, force: true });
      await mock.close();
    }
  });
});
