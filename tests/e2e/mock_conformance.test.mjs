// The mock providers (lib/mock_providers.mjs) against the official SDKs: if `openai` and
// `@anthropic-ai/sdk` parse the mock's answers, streams and errors, the mock is close enough
// to the real wire formats for gateway tests to trust it. Google (no SDK here) is checked
// with plain fetch against the documented shapes. Also checks the key-chosen behaviours,
// the request records and the connection counters. No nyxgate binary needed.
//
//   cd tests/e2e && node --test --test-concurrency=1 mock_conformance.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { makeCaFetch } from './lib/ca_fetch.mjs';
import { chunkText, countWords, fingerprint, startMockProviders } from './lib/mock_providers.mjs';

let mock;
let caFetch;
const usedKeys = [];

function key(prefix, behaviour) {
  const k = `${prefix}-${behaviour}-conf-${Math.random().toString(36).slice(2, 10)}`;
  usedKeys.push(k);
  return k;
}

function openai(k, extra = {}) {
  return new OpenAI({ apiKey: k, baseURL: `${mock.url}/v1`, fetch: caFetch, maxRetries: 0, ...extra });
}

/** The SDK sending the key as nyxgate does (x-api-key); `bearer` keeps the SDK's own default. */
function anthropic(k, { bearer = false, ...extra } = {}) {
  const auth = bearer ? { apiKey: k } : { apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': k } };
  return new Anthropic({ ...auth, baseURL: mock.url, fetch: caFetch, maxRetries: 0, ...extra });
}

/** POST JSON with the CA-trusting fetch; returns the raw Response. */
function post(path, headers, body, f = caFetch) {
  return f(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Splits an SSE body into its events as [{event, data}]; `sep` is the event separator. */
function sseEvents(text, sep = '\n\n') {
  assert.ok(text.endsWith(sep), `the stream ends with a complete event (${JSON.stringify(text.slice(-20))})`);
  return text
    .slice(0, -sep.length)
    .split(sep)
    .map((block) => {
      const out = { event: null, data: null };
      for (const line of block.split(sep === '\r\n\r\n' ? '\r\n' : '\n')) {
        if (line.startsWith('event: ')) out.event = line.slice(7);
        else if (line.startsWith('data: ')) out.data = line.slice(6);
        else assert.fail(`unexpected SSE line ${JSON.stringify(line)}`);
      }
      return out;
    });
}

const question = 'tell me three quick facts about otters please';
const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const timeParameters = { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'], additionalProperties: false };
const weatherTools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters } },
  { type: 'function', function: { name: 'get_time', description: 'The time in a zone', parameters: timeParameters } },
];
const echo = `echo: ${question}`;

before(async () => {
  mock = await startMockProviders({ slowMs: 300 });
  caFetch = makeCaFetch({ caFile: mock.caFile });
});

after(async () => {
  const recorded = JSON.stringify(mock?.requests ?? []);
  caFetch?.close();
  await mock?.close();
  for (const k of usedKeys) assert.ok(!recorded.includes(k), 'no request record holds a key');
});

describe('helpers', () => {
  it('chunkText pieces always concatenate back to the text', () => {
    for (const text of ['', 'one', 'echo: a b c d e f g', '  lead and trail  ', 'x y']) {
      for (const chunks of [null, 1, 2, 3, 7, 50]) {
        const pieces = chunkText(text, { chunks, wordsPerChunk: 2 });
        assert.equal(pieces.join(''), text, `${JSON.stringify(text)} in ${chunks} chunks`);
        assert.ok(pieces.length >= 1);
        if (chunks !== null) assert.equal(pieces.length, Math.max(1, Math.min(chunks, Math.max(text.length, 1))));
      }
    }
    assert.deepEqual(chunkText('echo: a b c d', { wordsPerChunk: 2 }), ['echo: a', ' b c', ' d']);
    assert.equal(countWords(' a  b\nc '), 3);
  });
});

for (const provider of ['openai', 'kimi']) {
  const prefix = provider === 'kimi' ? 'sk-kimi' : 'sk-proj';
  const model = provider === 'kimi' ? 'kimi-k2-0905-preview' : 'gpt-4o-mini';

  describe(`${provider}: openai SDK`, () => {
    it('non-stream chat.completion parses, content and usage derive from the request', async () => {
      const k = key(prefix, 'good');
      const before = mock.requests.length;
      const res = await openai(k).chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: question },
        ],
        max_tokens: 100,
        stop: ['zzz'],
      });
      assert.equal(res.object, 'chat.completion');
      assert.match(res.id, /^chatcmpl-/);
      assert.equal(res.model, model);
      assert.equal(res.choices.length, 1);
      assert.equal(res.choices[0].message.role, 'assistant');
      assert.equal(res.choices[0].message.content, echo);
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.equal(res.usage.prompt_tokens, countWords(`be brief first question first answer ${question}`));
      assert.equal(res.usage.completion_tokens, countWords(echo));
      assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);

      const calls = mock.requests.slice(before);
      assert.equal(calls.length, 1);
      const [call] = calls;
      assert.equal(call.kind, 'chat');
      assert.equal(call.provider, provider);
      assert.equal(call.path, '/v1/chat/completions');
      assert.equal(call.auth, 'authorization-bearer');
      assert.equal(call.keyFingerprint, fingerprint(k));
      assert.equal(call.model, model);
      assert.equal(call.stream, false);
      assert.equal(call.status, 200);
      assert.equal(call.body.max_tokens, 100);
      assert.deepEqual(call.body.stop, ['zzz']);
      assert.equal(call.body.messages[0].role, 'system');
      assert.equal(call.headers.authorization, undefined, 'the auth header is not recorded');
    });

    it('the answer honours max_tokens (finish_reason length) and stop sequences', async () => {
      const client = openai(key(prefix, 'good'));
      const cut = await client.chat.completions.create({ model, messages: [{ role: 'user', content: question }], max_tokens: 3 });
      assert.equal(cut.choices[0].message.content, 'echo: tell me');
      assert.equal(cut.choices[0].finish_reason, 'length');
      assert.equal(cut.usage.completion_tokens, 3);
      const stopped = await client.chat.completions.create({ model, messages: [{ role: 'user', content: question }], stop: 'quick' });
      assert.equal(stopped.choices[0].message.content, 'echo: tell me three ');
      assert.equal(stopped.choices[0].finish_reason, 'stop');
    });

    it('stream with include_usage: chunks, then finish, then a usage chunk with no choices, then [DONE]', async () => {
      const stream = await openai(key(prefix, 'good')).chat.completions.create({
        model,
        messages: [{ role: 'user', content: question }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      for (const c of chunks) {
        assert.equal(c.object, 'chat.completion.chunk');
        assert.equal(c.id, chunks[0].id, 'every chunk has the same id');
        assert.equal(c.model, model);
      }
      assert.equal(chunks[0].choices[0].delta.role, 'assistant');
      const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
      assert.equal(text, echo);
      const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
      assert.equal(contentChunks.length, Math.ceil(countWords(echo) / 2), 'two words per chunk by default');
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, []);
      assert.equal(last.usage.completion_tokens, countWords(echo));
      assert.equal(last.usage.prompt_tokens, countWords(question));
      assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
      for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null, 'other chunks carry usage: null');
    });

    it('stream without include_usage has no usage chunk; x-mock-chunks sets the chunk count', async () => {
      const stream = await openai(key(prefix, 'good')).chat.completions.create(
        { model, messages: [{ role: 'user', content: question }], stream: true },
        { headers: { 'x-mock-chunks': '5' } },
      );
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      assert.ok(chunks.every((c) => c.usage === undefined), 'no usage field at all');
      assert.ok(chunks.every((c) => c.choices.length === 1));
      assert.equal(chunks.filter((c) => c.choices[0].delta.content).length, 5);
      assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), echo);
    });

    it('the raw stream is SSE ending in data: [DONE] with OpenAI headers', async () => {
      const res = await post(
        '/v1/chat/completions',
        { authorization: `Bearer ${key(prefix, 'good')}` },
        { model, messages: [{ role: 'user', content: 'hi' }], stream: true },
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/event-stream/);
      assert.ok(res.headers.get('x-request-id'));
      if (provider === 'openai') assert.match(res.headers.get('openai-processing-ms'), /^\d+$/);
      const events = sseEvents(await res.text());
      assert.equal(events.at(-1).data, '[DONE]');
      for (const e of events.slice(0, -1)) JSON.parse(e.data);
    });

    const errorCases = [
      ['quota', OpenAI.RateLimitError, 429, 'insufficient_quota', 'insufficient_quota'],
      ['credit', OpenAI.RateLimitError, 429, 'insufficient_quota', 'insufficient_quota'],
      ['ratelimit', OpenAI.RateLimitError, 429, 'rate_limit_exceeded', 'requests'],
      ['invalid', OpenAI.AuthenticationError, 401, provider === 'kimi' ? undefined : 'invalid_api_key', provider === 'kimi' ? 'invalid_authentication_error' : 'invalid_request_error'],
      ['denied', OpenAI.PermissionDeniedError, 403, provider === 'kimi' ? undefined : null, provider === 'kimi' ? 'permission_denied_error' : 'invalid_request_error'],
      ['badreq', OpenAI.BadRequestError, 400, 'context_length_exceeded', 'invalid_request_error'],
      ['flaky', OpenAI.InternalServerError, 503, null, 'server_error'],
      ['overloaded', OpenAI.InternalServerError, 503, null, 'server_error'],
    ];
    for (const [behaviour, ErrorClass, status, code, type] of errorCases) {
      it(`${behaviour} key → ${ErrorClass.name} ${status}${code ? ` (${code})` : ''}`, async () => {
        const k = key(prefix, behaviour);
        const err = await openai(k)
          .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
          .then(() => assert.fail('expected an error'), (e) => e);
        assert.ok(err instanceof ErrorClass, `${err.constructor.name}: ${err.message}`);
        assert.equal(err.status, status);
        assert.equal(err.code, code);
        assert.equal(err.type, type);
        assert.ok(!err.message.includes(k), 'the error does not repeat the whole key');
        if (behaviour === 'ratelimit') assert.equal(err.headers.get('retry-after'), '1');
        assert.ok(err.requestID, 'x-request-id is surfaced as requestID');
      });
    }

    it('tools: the SDK reads tool_calls with example arguments, finish_reason tool_calls; the results come back echoed', async () => {
      const client = openai(key(prefix, 'good'));
      const messages = [{ role: 'user', content: 'use get_weather and get_time for city=Paris' }];
      const res = await client.chat.completions.create({ model, messages, tools: weatherTools });
      const msg = res.choices[0].message;
      assert.equal(res.choices[0].finish_reason, 'tool_calls');
      assert.equal(msg.content, null);
      assert.deepEqual(msg.tool_calls.map((t) => [t.type, t.function.name, JSON.parse(t.function.arguments)]), [
        ['function', 'get_weather', { city: 'Paris', unit: 'celsius' }],
        ['function', 'get_time', { zone: 'example' }],
      ]);
      assert.match(msg.tool_calls[0].id, provider === 'kimi' ? /^get_weather:0$/ : /^call_[A-Za-z0-9]{24}$/);
      const again = await client.chat.completions.create({ model, messages, tools: weatherTools });
      assert.deepEqual(again.choices[0].message.tool_calls, msg.tool_calls, 'the same request gets the same calls and ids');
      const named = await client.chat.completions.create({ model, messages, tools: weatherTools, tool_choice: { type: 'function', function: { name: 'get_time' } } });
      assert.deepEqual(named.choices[0].message.tool_calls.map((t) => t.function.name), ['get_time']);
      const single = await client.chat.completions.create({ model, messages, tools: weatherTools, parallel_tool_calls: false });
      assert.deepEqual(single.choices[0].message.tool_calls.map((t) => t.function.name), ['get_weather']);
      const none = await client.chat.completions.create({ model, messages, tools: weatherTools, tool_choice: 'none' });
      assert.equal(none.choices[0].message.content, `echo: ${messages[0].content}`);

      const results = [
        ...messages,
        msg,
        { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'sunny, 21 C' },
        { role: 'tool', tool_call_id: msg.tool_calls[1].id, content: '14:05' },
      ];
      const done = await client.chat.completions.create({ model, messages: results, tools: weatherTools });
      assert.equal(done.choices[0].finish_reason, 'stop');
      assert.equal(done.choices[0].message.content, 'echo: tool results: sunny, 21 C; 14:05');
      assert.equal(done.choices[0].message.tool_calls, undefined);
    });

    it('tools: a stream sends each call as {index, id, type, name, arguments: ""} and then argument fragments', async () => {
      const stream = await openai(key(prefix, 'good')).chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'get_weather and get_time, city=Oslo' }],
        tools: weatherTools,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      const deltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
      const heads = deltas.filter((d) => d.id);
      assert.deepEqual(heads.map((d) => [d.index, d.type, d.function.name, d.function.arguments]), [
        [0, 'function', 'get_weather', ''],
        [1, 'function', 'get_time', ''],
      ]);
      const fragments = deltas.filter((d) => !d.id);
      assert.ok(fragments.every((d) => d.id === undefined && d.function.name === undefined && d.function.arguments.length <= 8));
      const args = [0, 1].map((i) => fragments.filter((d) => d.index === i).map((d) => d.function.arguments).join(''));
      assert.deepEqual(args.map((a) => JSON.parse(a)), [{ city: 'Oslo', unit: 'celsius' }, { zone: 'example' }]);
      assert.ok(fragments.filter((d) => d.index === 0).length > 1, 'the arguments come in several fragments');
      assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
      assert.ok(chunks.every((c) => !c.choices[0]?.delta.content), 'no text');
      assert.ok(chunks.at(-1).usage.completion_tokens > 0);

      const done = await openai(key(prefix, 'good'))
        .chat.completions.stream({ model, messages: [{ role: 'user', content: 'get_time zone=CET' }], tools: weatherTools, tool_choice: 'required' })
        .finalChatCompletion();
      assert.equal(done.choices[0].finish_reason, 'tool_calls');
      assert.deepEqual(JSON.parse(done.choices[0].message.tool_calls[0].function.arguments), { zone: 'CET' });
    });

    it('json_schema answers example JSON, json_object {"echo": ...}; a key with "cached" reports cache and reasoning tokens', async () => {
      const client = openai(key(prefix, 'good-cached'));
      const schema = {
        type: 'object',
        properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } }, ok: { type: 'boolean' } },
        required: ['name', 'age', 'tags', 'ok'],
        additionalProperties: false,
      };
      const res = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'make one up with name=Ada please' }],
        response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema } },
      });
      assert.deepEqual(JSON.parse(res.choices[0].message.content), { name: 'Ada', age: 42, tags: ['example'], ok: true });
      const prompt = countWords('make one up with name=Ada please');
      assert.equal(res.usage.prompt_tokens, prompt);
      assert.equal(res.usage.prompt_tokens_details.cached_tokens, Math.floor(prompt / 2));
      assert.equal(res.usage.completion_tokens_details.reasoning_tokens, 3);
      assert.equal(res.usage.completion_tokens, countWords(res.choices[0].message.content) + 3, 'completion tokens include reasoning');
      const obj = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'answer in json' }], response_format: { type: 'json_object' } });
      assert.deepEqual(JSON.parse(obj.choices[0].message.content), { echo: 'answer in json' });
    });

    const invalidBodies = [
      [
        'a tool message without a preceding tool call',
        { messages: [{ role: 'user', content: 'hi' }, { role: 'tool', tool_call_id: 'call_x', content: 'r' }] },
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        'messages.[1].role',
      ],
      [
        'a tool message answering an unknown call',
        {
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
            { role: 'tool', tool_call_id: 'call_b', content: 'r' },
          ],
          tools: weatherTools,
        },
        "Invalid parameter: 'tool_call_id' of 'call_b' not found in 'tool_calls' of previous message.",
        'messages.[2].tool_call_id',
      ],
      [
        'a tool call left unanswered',
        {
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
            { role: 'user', content: 'and?' },
          ],
        },
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: call_a",
        'messages.[2].role',
      ],
      [
        'a strict schema that allows extra properties',
        { messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } } },
        "Invalid schema for response_format 'x': In context=(), 'additionalProperties' is required to be supplied and to be false.",
        'response_format',
      ],
      [
        'tool_choice without tools',
        { messages: [{ role: 'user', content: 'hi' }], tool_choice: 'required' },
        "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        'tool_choice',
      ],
    ];
    for (const [what, body, message, param] of invalidBodies) {
      it(`rejects ${what} as the real API does`, async () => {
        const err = await openai(key(prefix, 'good'))
          .chat.completions.create({ model, ...body })
          .then(() => assert.fail('expected an error'), (e) => e);
        assert.ok(err instanceof OpenAI.BadRequestError, err.message);
        assert.equal(err.error.message, message);
        assert.equal(err.param, param);
        assert.equal(err.type, 'invalid_request_error');
      });
    }

    it('an invalid body (no messages) is a 400 invalid_request_error', async () => {
      const res = await post('/v1/chat/completions', { authorization: `Bearer ${key(prefix, 'good')}` }, { model });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.error.type, 'invalid_request_error');
      assert.equal(body.error.param, 'messages');
    });
  });
}

describe('anthropic: @anthropic-ai/sdk', () => {
  const model = 'claude-sonnet-4-6';

  it('non-stream Message parses, system is recorded top-level, the SDK sent anthropic-version', async () => {
    const k = key('sk-ant-api03', 'good');
    const before = mock.requests.length;
    const msg = await anthropic(k).messages.create({
      model,
      max_tokens: 64,
      system: 'be brief',
      stop_sequences: ['zzz'],
      messages: [{ role: 'user', content: [{ type: 'text', text: question }] }],
    });
    assert.equal(msg.type, 'message');
    assert.match(msg.id, /^msg_/);
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, model);
    assert.deepEqual(msg.content, [{ type: 'text', text: echo }]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.stop_sequence, null);
    assert.equal(msg.usage.input_tokens, countWords(`be brief ${question}`));
    assert.equal(msg.usage.output_tokens, countWords(echo));

    const [call] = mock.requests.slice(before);
    assert.equal(call.provider, 'anthropic');
    assert.equal(call.path, '/v1/messages');
    assert.equal(call.auth, 'x-api-key');
    assert.ok(call.anthropicVersion, 'anthropic-version header');
    assert.equal(call.body.system, 'be brief');
    assert.equal(call.body.max_tokens, 64);
    assert.deepEqual(call.body.stop_sequences, ['zzz']);
    assert.equal(call.headers['x-api-key'], undefined, 'the key header is not recorded');
  });

  it("the SDK's default Bearer auth is accepted too", async () => {
    const k = key('sk-ant-api03', 'good');
    const msg = await anthropic(k, { bearer: true }).messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: question }] });
    assert.equal(msg.content[0].text, echo);
    const [call] = mock.chats('anthropic', k);
    assert.equal(call.auth, 'authorization-bearer');
  });

  it('max_tokens and stop_sequences shape the answer and stop_reason', async () => {
    const client = anthropic(key('sk-ant-api03', 'good'));
    const cut = await client.messages.create({ model, max_tokens: 2, messages: [{ role: 'user', content: question }] });
    assert.equal(cut.content[0].text, 'echo: tell');
    assert.equal(cut.stop_reason, 'max_tokens');
    const stopped = await client.messages.create({ model, max_tokens: 99, stop_sequences: ['three'], messages: [{ role: 'user', content: question }] });
    assert.equal(stopped.content[0].text, 'echo: tell me ');
    assert.equal(stopped.stop_reason, 'stop_sequence');
    assert.equal(stopped.stop_sequence, 'three');
  });

  it('stream: the real event sequence, text deltas concatenating to the answer', async () => {
    const stream = await anthropic(key('sk-ant-api03', 'good')).messages.create({
      model,
      max_tokens: 64,
      messages: [{ role: 'user', content: question }],
      stream: true,
    });
    const events = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    const deltas = events.filter((e) => e.type === 'content_block_delta');
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      ...deltas.map(() => 'content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ], 'ping is consumed by the SDK, the rest in order');
    assert.ok(deltas.length > 1, 'several deltas');
    assert.ok(deltas.every((d) => d.delta.type === 'text_delta' && d.index === 0));
    assert.equal(deltas.map((d) => d.delta.text).join(''), echo);
    assert.equal(events[0].message.usage.input_tokens, countWords(question));
    const md = events.find((e) => e.type === 'message_delta');
    assert.equal(md.delta.stop_reason, 'end_turn');
    assert.equal(md.usage.output_tokens, countWords(echo));
  });

  it('stream: the SDK MessageStream accumulates the final message', async () => {
    const final = await anthropic(key('sk-ant-api03', 'good'))
      .messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: question }] })
      .finalMessage();
    assert.equal(final.content[0].text, echo);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.output_tokens, countWords(echo));
  });

  it('tools: tool_use blocks with example input, stop_reason tool_use; streamed as input_json_delta; results echoed', async () => {
    const client = anthropic(key('sk-ant-api03', 'good'));
    const tools = weatherTools.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters }));
    const messages = [{ role: 'user', content: 'get_weather for city=Rome' }];
    const msg = await client.messages.create({ model, max_tokens: 64, messages, tools });
    assert.equal(msg.stop_reason, 'tool_use');
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, 'tool_use');
    assert.match(msg.content[0].id, /^toolu_01[A-Za-z0-9]{22}$/);
    assert.deepEqual([msg.content[0].name, msg.content[0].input], ['get_weather', { city: 'Rome', unit: 'celsius' }]);
    const streamed = await client.messages.stream({ model, max_tokens: 64, messages, tools }).finalMessage();
    assert.deepEqual(streamed.content, msg.content, 'the SDK assembles the input_json_delta fragments into the same input');
    assert.equal(streamed.stop_reason, 'tool_use');
    const done = await client.messages.create({
      model,
      max_tokens: 64,
      tools,
      messages: [...messages, { role: 'assistant', content: msg.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: msg.content[0].id, content: 'sunny' }] }],
    });
    assert.equal(done.content[0].text, 'echo: tool results: sunny');
    const err = await client.messages
      .create({ model, max_tokens: 64, messages: [...messages, { role: 'assistant', content: msg.content }, { role: 'user', content: 'and?' }] })
      .then(() => assert.fail('expected an error'), (e) => e);
    assert.ok(err instanceof Anthropic.BadRequestError);
    assert.match(err.message, /`tool_use` ids were found without `tool_result` blocks immediately after/);
  });

  it('the raw stream has event: lines, a ping, and content-type text/event-stream', async () => {
    const res = await post(
      '/v1/messages',
      { 'x-api-key': key('sk-ant-api03', 'good'), 'anthropic-version': '2023-06-01' },
      { model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], stream: true },
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    assert.ok(res.headers.get('request-id'));
    const events = sseEvents(await res.text());
    for (const e of events) assert.equal(JSON.parse(e.data).type, e.event);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
  });

  const errorCases = [
    ['overloaded', Anthropic.APIError, 529, 'overloaded_error'],
    ['credit', Anthropic.BadRequestError, 400, 'invalid_request_error', /credit balance is too low/],
    ['quota', Anthropic.BadRequestError, 400, 'invalid_request_error', /credit balance is too low/],
    ['invalid', Anthropic.AuthenticationError, 401, 'authentication_error'],
    ['denied', Anthropic.PermissionDeniedError, 403, 'permission_error'],
    ['ratelimit', Anthropic.RateLimitError, 429, 'rate_limit_error'],
    ['flaky', Anthropic.InternalServerError, 503, 'api_error'],
    ['badreq', Anthropic.BadRequestError, 400, 'invalid_request_error', /prompt is too long/],
  ];
  for (const [behaviour, ErrorClass, status, type, message] of errorCases) {
    it(`${behaviour} key → ${ErrorClass.name} ${status} ${type}`, async () => {
      const err = await anthropic(key('sk-ant-api03', behaviour))
        .messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
        .then(() => assert.fail('expected an error'), (e) => e);
      assert.ok(err instanceof ErrorClass, `${err.constructor.name}: ${err.message}`);
      assert.equal(err.status, status);
      assert.equal(err.error.type, 'error');
      assert.equal(err.error.error.type, type);
      if (message) assert.match(err.error.error.message, message);
      if (behaviour === 'ratelimit') assert.equal(err.headers.get('retry-after'), '1');
      assert.ok(err.requestID, 'request-id is surfaced');
    });
  }

  it('rejects what the real API rejects: a system-role message, a missing max_tokens, OpenAI-only fields', async () => {
    const client = anthropic(key('sk-ant-api03', 'good'));
    for (const [body, re] of [
      [{ model, max_tokens: 8, messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hi' }] }, /Unexpected role "system"/],
      [{ model, messages: [{ role: 'user', content: 'hi' }] }, /max_tokens: Field required/],
      [{ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } }, /stream_options: Extra inputs/],
    ]) {
      const err = await client.messages.create(body).then(() => assert.fail('expected 400'), (e) => e);
      assert.ok(err instanceof Anthropic.BadRequestError, err.message);
      assert.match(err.error.error.message, re);
    }
  });

  it('answers 400 without an anthropic-version header', async () => {
    const res = await post('/v1/messages', { 'x-api-key': key('sk-ant-api03', 'good') }, { model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /anthropic-version/);
  });
});

describe('google: plain fetch', () => {
  const model = 'gemini-2.5-flash';
  const body = {
    systemInstruction: { parts: [{ text: 'be brief' }] },
    contents: [
      { role: 'user', parts: [{ text: 'first question' }] },
      { role: 'model', parts: [{ text: 'first answer' }] },
      { role: 'user', parts: [{ text: question }] },
    ],
    generationConfig: { maxOutputTokens: 100, stopSequences: ['zzz'] },
  };

  it('generateContent answers a GenerateContentResponse', async () => {
    const k = key('AIzaSy', 'good');
    const before = mock.requests.length;
    const res = await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': k }, body);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const r = await res.json();
    assert.equal(r.candidates.length, 1);
    assert.deepEqual(r.candidates[0].content, { parts: [{ text: echo }], role: 'model' });
    assert.equal(r.candidates[0].finishReason, 'STOP');
    assert.equal(r.usageMetadata.promptTokenCount, countWords(`be brief first question first answer ${question}`));
    assert.equal(r.usageMetadata.candidatesTokenCount, countWords(echo));
    assert.equal(r.usageMetadata.totalTokenCount, r.usageMetadata.promptTokenCount + r.usageMetadata.candidatesTokenCount);
    assert.equal(r.modelVersion, model);
    assert.ok(r.responseId);
    const [call] = mock.requests.slice(before);
    assert.equal(call.provider, 'google');
    assert.equal(call.model, model);
    assert.equal(call.auth, 'x-goog-api-key');
    assert.equal(call.stream, false);
    assert.deepEqual(call.body, body);
  });

  it('tools: a functionCall part with example args, whole in one stream record; a functionResponse is echoed', async () => {
    const k = key('AIzaSy', 'good');
    const tools = [{ functionDeclarations: weatherTools.map((t) => ({ name: t.function.name, parameters: { type: 'object', properties: t.function.parameters.properties } })) }];
    const contents = [{ role: 'user', parts: [{ text: 'get_time zone=UTC' }] }];
    const r = await (await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': k }, { contents, tools })).json();
    assert.deepEqual(r.candidates[0].content.parts, [{ functionCall: { name: 'get_time', args: { zone: 'UTC' } } }]);
    assert.equal(r.candidates[0].finishReason, 'STOP');
    const raw = await (await post(`/v1beta/models/${model}:streamGenerateContent?alt=sse`, { 'x-goog-api-key': k }, { contents, tools })).text();
    const records = sseEvents(raw, '\r\n\r\n').map((e) => JSON.parse(e.data));
    assert.equal(records.length, 1);
    assert.deepEqual(records[0].candidates[0].content.parts, r.candidates[0].content.parts);
    const done = await (
      await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': k }, {
        tools,
        contents: [...contents, r.candidates[0].content, { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: { content: '12:00' } } }] }],
      })
    ).json();
    assert.equal(done.candidates[0].content.parts[0].text, 'echo: tool results: 12:00');
    const bad = await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': k }, {
      contents,
      tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'object', properties: { a: { $ref: '#/x' } } } }] }],
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error.message, /Unknown name "\$ref" at 'tools\[0\].function_declarations\[0\].parameters.properties\["a"\].value'/);
  });

  it('maxOutputTokens cuts the answer with finishReason MAX_TOKENS', async () => {
    const res = await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': key('AIzaSy', 'good') }, {
      contents: [{ parts: [{ text: question }] }],
      generationConfig: { maxOutputTokens: 4 },
    });
    const r = await res.json();
    assert.equal(r.candidates[0].content.parts[0].text, 'echo: tell me three');
    assert.equal(r.candidates[0].finishReason, 'MAX_TOKENS');
  });

  it('streamGenerateContent?alt=sse: data: {json}\\r\\n\\r\\n events, no terminator, usage and finish on the last', async () => {
    const k = key('AIzaSy', 'good');
    const before = mock.requests.length;
    const res = await post(`/v1beta/models/${model}:streamGenerateContent?alt=sse&key=${k}`, {}, body);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const raw = await res.text();
    assert.ok(!raw.includes('[DONE]'));
    const events = sseEvents(raw, '\r\n\r\n');
    assert.ok(events.length > 1, 'several events');
    const records = events.map((e) => {
      assert.equal(e.event, null, 'no event: lines');
      return JSON.parse(e.data);
    });
    assert.equal(records.map((r) => r.candidates[0].content.parts[0].text).join(''), echo);
    for (const r of records.slice(0, -1)) assert.equal(r.candidates[0].finishReason, undefined);
    const last = records.at(-1);
    assert.equal(last.candidates[0].finishReason, 'STOP');
    assert.equal(last.usageMetadata.candidatesTokenCount, countWords(echo));
    assert.ok(records.every((r) => r.responseId === records[0].responseId && r.candidates[0].content.role === 'model'));
    const [call] = mock.requests.slice(before);
    assert.equal(call.auth, 'query-key');
    assert.equal(call.stream, true);
    assert.match(call.query, /key=REDACTED/);
  });

  it('streamGenerateContent without alt=sse answers one JSON array of the same records', async () => {
    const res = await post(`/v1beta/models/${model}:streamGenerateContent`, { 'x-goog-api-key': key('AIzaSy', 'good') }, body);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const records = await res.json();
    assert.ok(Array.isArray(records) && records.length > 1);
    assert.equal(records.map((r) => r.candidates[0].content.parts[0].text).join(''), echo);
    assert.equal(records.at(-1).candidates[0].finishReason, 'STOP');
  });

  const errorCases = [
    ['invalid', 400, 'INVALID_ARGUMENT', 'API_KEY_INVALID'],
    ['quota', 429, 'RESOURCE_EXHAUSTED', null],
    ['ratelimit', 429, 'RESOURCE_EXHAUSTED', null],
    ['denied', 403, 'PERMISSION_DENIED', 'SERVICE_DISABLED'],
    ['flaky', 503, 'UNAVAILABLE', null],
    ['overloaded', 503, 'UNAVAILABLE', null],
    ['badreq', 400, 'INVALID_ARGUMENT', null],
  ];
  for (const [behaviour, code, status, reason] of errorCases) {
    it(`${behaviour} key → ${code} ${status}${reason ? ` ${reason}` : ''}`, async () => {
      const res = await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': key('AIzaSy', behaviour) }, body);
      assert.equal(res.status, code);
      const { error } = await res.json();
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(typeof error.message, 'string');
      if (reason) {
        const info = error.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
        assert.equal(info.reason, reason);
      }
      if (behaviour === 'ratelimit') assert.equal(res.headers.get('retry-after'), '1');
    });
  }

  it('rejects an OpenAI-shaped body and the assistant role as Google does', async () => {
    const k = key('AIzaSy', 'good');
    let res = await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': k }, { messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /Unknown name "messages"/);
    res = await post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': k }, { contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /valid role: user, model/);
  });
});

describe('behaviours and counters', () => {
  const model = 'gpt-4o-mini';
  const chat = (k, extra = {}) => openai(k).chat.completions.create({ model, messages: [{ role: 'user', content: question }], ...extra });

  it('flaky1: 503 on the first chat call of a key, then good; resetCounters re-arms it', async () => {
    const k = key('sk-proj', 'flaky1');
    await assert.rejects(chat(k), (e) => e instanceof OpenAI.InternalServerError && e.status === 503);
    assert.equal((await chat(k)).choices[0].message.content, echo);
    assert.equal((await chat(k)).choices[0].message.content, echo);
    const other = key('sk-proj', 'flaky1');
    await assert.rejects(chat(other), (e) => e.status === 503, 'the counter is per key');
    mock.resetCounters();
    await assert.rejects(chat(k), (e) => e.status === 503);
    assert.equal((await chat(k)).choices[0].message.content, echo);
  });

  it('flaky: 503 on every call', async () => {
    const k = key('sk-proj', 'flaky');
    for (let i = 0; i < 3; i++) await assert.rejects(chat(k), (e) => e.status === 503);
  });

  it('slow: answers only after slowMs (configurable)', async () => {
    const t0 = Date.now();
    const res = await chat(key('sk-proj', 'slow'));
    assert.equal(res.choices[0].message.content, echo);
    assert.ok(Date.now() - t0 >= 290, `took ${Date.now() - t0} ms`);
    mock.configure({ slowMs: 0 });
    try {
      const t1 = Date.now();
      await chat(key('sk-proj', 'slow'));
      assert.ok(Date.now() - t1 < 250);
    } finally {
      mock.configure({ slowMs: 300 });
    }
  });

  it('slowstream: chunk count and delay from x-mock-chunks / x-mock-chunk-delay-ms', async () => {
    const stream = await chat(key('sk-proj', 'slowstream'), { stream: true }).then((s) => s);
    const times = [];
    const parts = [];
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) {
        times.push(Date.now());
        parts.push(c.choices[0].delta.content);
      }
    }
    assert.equal(parts.length, mock.config.slowStreamChunks);
    assert.equal(parts.join(''), echo);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= mock.config.chunkDelayMs - 30, `gap ${i}: ${times[i] - times[i - 1]} ms`);

    const res = await post(
      '/v1/messages',
      { 'x-api-key': key('sk-ant', 'slowstream'), 'anthropic-version': '2023-06-01', 'x-mock-chunks': '4', 'x-mock-chunk-delay-ms': '60' },
      { model: 'claude-sonnet-4-6', max_tokens: 99, messages: [{ role: 'user', content: question }], stream: true },
    );
    const t0 = Date.now();
    const events = sseEvents(await res.text());
    assert.equal(events.filter((e) => e.event === 'content_block_delta').length, 4);
    assert.ok(Date.now() - t0 >= 4 * 60 - 30, 'the delays were applied');
  });

  it('a client that goes away mid-stream: the mock sees the response aborted and its connection closed', async () => {
    const ownFetch = makeCaFetch({ caFile: mock.caFile });
    mock.resetCounters();
    const openBefore = mock.openConnections();
    const k = key('sk-proj', 'slowstream');
    const ac = new AbortController();
    const stream = await openai(k, { fetch: ownFetch }).chat.completions.create(
      { model, messages: [{ role: 'user', content: question }], stream: true },
      { signal: ac.signal },
    );
    let seen = 0;
    await assert.rejects(async () => {
      for await (const c of stream) {
        if (c.choices[0]?.delta.content && ++seen === 2) ac.abort();
      }
    });
    const [rec] = mock.chats('openai', k);
    await mock.waitFor(() => rec.outcome === 'aborted', 3000, 'outcome aborted');
    await mock.waitFor(() => mock.openConnections() === openBefore, 3000, 'the connection to close');
    assert.equal(mock.stats().aborted, 1);
    assert.equal(mock.stats().streamsCompleted, 0);
    assert.ok(rec.eventsSent < 2 + mock.config.slowStreamChunks, `stopped sending after the client left (${rec.eventsSent} events)`);
    ownFetch.close();
  });

  it('dropped stream: the first content chunk arrives, then the connection is cut (no finish, no [DONE])', async () => {
    const k = key('sk-proj', 'dropped');
    const stream = await chat(k, { stream: true });
    const parts = [];
    await assert.rejects(async () => {
      for await (const c of stream) parts.push(c.choices[0]?.delta.content ?? '');
    });
    assert.equal(parts.join(''), 'echo: tell', 'exactly the first content piece (two words)');
    const [rec] = mock.chats('openai', k);
    assert.equal(rec.outcome, 'dropped');

    const res = await post(
      '/v1/messages',
      { 'x-api-key': key('sk-ant', 'dropped'), 'anthropic-version': '2023-06-01', 'x-mock-drop-after': '0' },
      { model: 'claude-sonnet-4-6', max_tokens: 99, messages: [{ role: 'user', content: question }], stream: true },
    );
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let text = '';
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    }, 'the body ends with an error, not a clean end');
    assert.ok(!text.includes('content_block_delta'), 'x-mock-drop-after: 0 cuts before any content');
  });

  it('dropped non-stream: the connection is cut before any answer', async () => {
    const err = await chat(key('sk-proj', 'dropped')).then(() => assert.fail('expected an error'), (e) => e);
    assert.ok(err instanceof OpenAI.APIConnectionError, `${err.constructor.name}: ${err.message}`);
  });

  it('records a key that leaked into the body without keeping it', async () => {
    const k = key('sk-proj', 'good');
    await chat(k, { user: k });
    const [rec] = mock.chats('openai', k);
    assert.equal(rec.keyInBody, true);
    assert.equal(rec.body.user, '[KEY]');
  });

  it('probe endpoints are unchanged, and treat chat-only behaviours as good', async () => {
    const get = async (k) => (await caFetch(`${mock.url}/v1/models`, { headers: { authorization: `Bearer ${k}` } })).status;
    assert.equal(await get(key('sk-proj', 'good')), 200);
    assert.equal(await get(key('sk-proj', 'flaky')), 503);
    assert.equal(await get(key('sk-proj', 'quota')), 429);
    for (const b of ['slowstream', 'flaky1', 'overloaded', 'dropped', 'badreq']) assert.equal(await get(key('sk-proj', b)), 200, b);
    const ant = async (k, version = '2023-06-01') =>
      (await caFetch(`${mock.url}/v1/models`, { headers: { 'x-api-key': k, ...(version ? { 'anthropic-version': version } : {}) } })).status;
    assert.equal(await ant(key('sk-ant', 'good')), 200);
    assert.equal(await ant(key('sk-ant', 'good'), null), 400);
    assert.equal(await ant(key('sk-ant', 'quota')), 429, 'the Anthropic probe keeps answering quota with 429');
    assert.equal(await ant(key('sk-ant', 'credit')), 400);
    const goo = async (k) => (await caFetch(`${mock.url}/v1beta/models?key=${k}`)).status;
    assert.equal(await goo(key('AIzaSy', 'good')), 200);
    assert.equal(await goo(key('AIzaSy', 'invalid')), 400);
    assert.match(mock.requests.at(-1).query, /^\?key=REDACTED$/, 'probe records redact ?key= too');
  });

  it('counts connections opened and closed', async () => {
    mock.resetCounters();
    const f = makeCaFetch({ caFile: mock.caFile, keepAlive: false });
    await (await f(`${mock.url}/v1/models`, { headers: { authorization: `Bearer ${key('sk-proj', 'good')}` } })).text();
    await mock.waitFor(() => mock.stats().connectionsClosed === 1, 3000, 'the connection to close');
    assert.equal(mock.stats().connectionsOpened, 1);
    f.close();
  });
});

describe('GitHub REST: repository and commits', () => {
  const COMMIT_KEYS = ['author', 'comments_url', 'commit', 'committer', 'html_url', 'node_id', 'parents', 'sha', 'url'];
  const GIT_COMMIT_KEYS = ['author', 'comment_count', 'committer', 'message', 'tree', 'url', 'verification'];

  function github(path, k) {
    return caFetch(`${mock.url}${path}`, { headers: { authorization: `Bearer ${k}`, accept: 'application/vnd.github+json' } });
  }
  function rels(link) {
    return Object.fromEntries([...link.matchAll(/<([^>]+)>; rel="(\w+)"/g)].map((m) => [m[2], new URL(m[1])]));
  }

  it("pages commits newest first with GitHub's shapes, Link relations and rate-limit headers", async () => {
    mock.addGitHubRepo('conf/pages', { commits: 75 });
    const k = key('ghp', 'good');
    const first = await github('/repos/conf/pages/commits', k);
    assert.equal(first.status, 200);
    const page1 = await first.json();
    assert.equal(page1.length, 30, 'per_page defaults to 30');
    assert.deepEqual(Object.keys(page1[0]).sort(), COMMIT_KEYS);
    assert.deepEqual(Object.keys(page1[0].commit).sort(), GIT_COMMIT_KEYS);
    assert.match(page1[0].sha, /^[0-9a-f]{40}$/);
    assert.equal(page1[0].parents[0].sha, page1[1].sha);
    assert.ok(Date.parse(page1[0].commit.author.date) > Date.parse(page1[1].commit.author.date));
    for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-used', 'x-ratelimit-resource']) {
      assert.ok(first.headers.get(h), `${h} is set`);
    }
    const r1 = rels(first.headers.get('link'));
    assert.deepEqual(Object.keys(r1).sort(), ['last', 'next']);
    assert.equal(r1.next.searchParams.get('page'), '2');
    assert.equal(r1.last.searchParams.get('page'), '3');

    // The next link names the repository by id, as GitHub's do; the middle page has all four.
    const second = await github(r1.next.pathname + r1.next.search, k);
    assert.match(r1.next.pathname, /^\/repositories\/\d+\/commits$/);
    assert.equal(Number(second.headers.get('x-ratelimit-remaining')), Number(first.headers.get('x-ratelimit-remaining')) - 1);
    assert.deepEqual(Object.keys(rels(second.headers.get('link'))).sort(), ['first', 'last', 'next', 'prev']);
    const last = await github('/repos/conf/pages/commits?per_page=100', k);
    assert.equal((await last.json()).length, 75, 'per_page up to 100');
    assert.equal(last.headers.get('link'), null, 'one page: no Link header');

    const all = mock.githubCommits('conf/pages');
    const since = await github(`/repos/conf/pages/commits?since=${encodeURIComponent(all[9].date)}`, k);
    assert.deepEqual(
      (await since.json()).map((c) => c.sha),
      all.slice(0, 10).map((c) => c.sha),
    );
  });

  it('answers the repository, 404, 401 and the rate limit as GitHub does', async () => {
    mock.addGitHubRepo('conf/repo', { commits: 1 });
    const good = key('ghp', 'good');
    const repo = await github('/repos/conf/repo', good);
    assert.equal(repo.status, 200);
    const body = await repo.json();
    assert.equal(body.full_name, 'conf/repo');
    assert.equal(body.owner.login, 'conf');
    const missing = await github('/repos/conf/missing/commits', good);
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(await missing.json()).sort(), ['documentation_url', 'message', 'status']);
    const bad = await github('/repos/conf/repo/commits', key('ghp', 'invalid'));
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).message, 'Bad credentials');
    mock.configure({ githubRateLimited: true });
    try {
      const limited = await github('/repos/conf/repo/commits', good);
      assert.equal(limited.status, 403);
      assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
      assert.ok(Number(limited.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
      assert.match((await limited.json()).message, /^API rate limit exceeded/);
    } finally {
      mock.configure({ githubRateLimited: false });
    }
    mock.configure({ githubLinkBase: 'https://localhost:1' });
    try {
      mock.addGitHubRepo('conf/far', { commits: 40 });
      const far = await github('/repos/conf/far/commits', good);
      assert.equal(rels(far.headers.get('link')).next.host, 'localhost:1');
    } finally {
      mock.configure({ githubLinkBase: null });
    }
  });
});
