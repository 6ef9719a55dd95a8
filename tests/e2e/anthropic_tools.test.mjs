// Tools, structured output, images, thinking and cached usage through nyxgate to Anthropic,
// with the npm `openai` client on a tenant whose primary provider is Anthropic: what the
// client sees is OpenAI's shape, what the (mock) Messages API got is checked on the wire
// (tool_use/tool_result blocks with the ids kept, alternating turns, the forced nyxgate_json
// tool, image blocks, thinking), and what Anthropic cannot do is a 400 naming the field.
//
//   cd tests/e2e && NYXGATE_BIN=$PWD/../../build/asan/nyxgate node --test anthropic_tools.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { parseAnthropic } from './lib/mock_chat.mjs';
import { fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { startServer, stopChecked } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
    strict: true,
  },
};
const time = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'The time in a zone',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  },
};
const person = {
  type: 'json_schema',
  json_schema: {
    name: 'person',
    strict: true,
    schema: {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['name', 'age', 'tags'],
      additionalProperties: false,
    },
  },
};
// A 1x1 PNG.
const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** Reads a chat stream: text, the tool calls assembled from their deltas, the finish, usage. */
async function collect(stream) {
  let content = '';
  let finish = null;
  let usage = null;
  const calls = [];
  const firstPieces = [];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    for (const d of choice.delta.tool_calls ?? []) {
      if (d.id) {
        firstPieces.push(d);
        assert.equal(d.index, calls.length, 'a new call takes the next index');
        calls.push({ id: d.id, type: d.type, name: d.function.name, arguments: d.function.arguments ?? '' });
      } else {
        assert.ok(calls[d.index], `a fragment for call ${d.index} before its first piece`);
        calls[d.index].arguments += d.function?.arguments ?? '';
      }
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { content, calls, finish, usage, firstPieces };
}

describe('Anthropic tools, structured output and images through the openai SDK', () => {
  const secrets = [];
  let mock, srv, owner, client, key;

  async function addKey(behaviour) {
    const value = `sk-ant-${behaviour}-tools-${Math.random().toString(36).slice(2, 12)}`;
    secrets.push(value);
    const row = await owner.mutation('apiKeys.create', { provider: 'anthropic', name: `anthropic ${behaviour}`, key: value, isPersonal: false });
    return { ...row, fp: fingerprint(value) };
  }

  /** The Messages API bodies the mock got with `k`, oldest first. */
  function sent(k = key) {
    return mock.requests.filter((r) => r.kind === 'chat' && r.keyFingerprint === k.fp).map((r) => r.body);
  }

  /** A 400 in OpenAI's shape naming `param`, with nothing sent upstream. */
  async function refused(body, param) {
    const before = sent().length;
    const err = await client.chat.completions.create({ model: 'auto', ...body }).then(
      () => assert.fail('expected a 400'),
      (e) => e,
    );
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.param, param);
    assert.equal(err.code, 'unsupported_parameter');
    assert.match(err.message, /anthropic/);
    assert.equal(sent().length, before, 'nothing reached Anthropic');
  }

  before(async () => {
    mock = await startMockProviders();
    srv = await startServer({ extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)] });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    await owner.mutation('llmDefaults.update', { primary: 'anthropic', fallback: null });
    client = new OpenAI({ apiKey: srv.token, baseURL: `${srv.url}/v1`, maxRetries: 0 });
    // "cached": the mock answers as usual and reports half the prompt as cache reads.
    key = await addKey('cached');
  });

  after(async () => {
    if (key) await owner.mutation('apiKeys.delete', { id: key.id });
    if (srv) await stopChecked(srv, secrets);
    await mock?.close();
  });

  it('a tool call round trip keeps the call id from tool_use to tool_result', async () => {
    const messages = [
      { role: 'system', content: 'Use the tools.' },
      { role: 'user', content: 'get_weather for city=Rome' },
    ];
    const first = await client.chat.completions.create({ model: 'auto', messages, tools: [weather, time] });
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.match(call.id, /^toolu_01/);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Rome', unit: 'celsius' });
    const asked = sent().at(-1);
    assert.equal(asked.system, 'Use the tools.');
    assert.deepEqual(asked.tools[0], {
      name: 'get_weather',
      description: 'The weather in a city',
      input_schema: weather.function.parameters,
    });
    assert.deepEqual(asked.tool_choice, { type: 'auto' });

    const second = await client.chat.completions.create({
      model: 'auto',
      tools: [weather, time],
      messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 24C' }],
    });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.equal(second.choices[0].message.content, 'echo: tool results: sunny, 24C');
    const turns = sent().at(-1).messages;
    assert.deepEqual(
      turns.map((t) => t.role),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(turns[1].content, [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Rome', unit: 'celsius' } }]);
    assert.deepEqual(turns[2].content, [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny, 24C' }]);
  });

  it('streamed parallel tool calls arrive as OpenAI deltas, and their results go back in one turn', async () => {
    const messages = [{ role: 'user', content: 'get_weather and get_time please, city=Oslo zone=CET' }];
    const got = await collect(
      await client.chat.completions.create({
        model: 'auto',
        messages,
        tools: [weather, time],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    assert.equal(got.finish, 'tool_calls');
    assert.equal(got.content, '');
    assert.deepEqual(
      got.calls.map((c) => [c.type, c.name, JSON.parse(c.arguments)]),
      [
        ['function', 'get_weather', { city: 'Oslo', unit: 'celsius' }],
        ['function', 'get_time', { zone: 'CET' }],
      ],
    );
    assert.ok(got.calls.every((c) => /^toolu_01/.test(c.id)));
    assert.ok(got.firstPieces.every((d) => d.function.arguments === ''), 'the first piece has the name, not the arguments');
    assert.ok(got.usage && got.usage.completion_tokens > 0, JSON.stringify(got.usage));

    const answered = await collect(
      await client.chat.completions.create({
        model: 'auto',
        tools: [weather, time],
        stream: true,
        messages: [
          ...messages,
          {
            role: 'assistant',
            content: null,
            tool_calls: got.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
          },
          { role: 'tool', tool_call_id: got.calls[0].id, content: 'snow' },
          { role: 'tool', tool_call_id: got.calls[1].id, content: '09:00' },
        ],
      }),
    );
    assert.equal(answered.finish, 'stop');
    assert.equal(answered.content, 'echo: tool results: snow; 09:00');
    const last = sent().at(-1).messages.at(-1);
    assert.deepEqual(
      last.content.map((b) => [b.type, b.tool_use_id]),
      [
        ['tool_result', got.calls[0].id],
        ['tool_result', got.calls[1].id],
      ],
    );
  });

  it('parallel_tool_calls false and a named tool_choice reach Anthropic as its tool_choice', async () => {
    const one = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'get_weather and get_time, city=Oslo zone=CET' }],
      tools: [weather, time],
      parallel_tool_calls: false,
    });
    assert.equal(one.choices[0].message.tool_calls.length, 1);
    assert.deepEqual(sent().at(-1).tool_choice, { type: 'auto', disable_parallel_tool_use: true });
    const named = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'what time is it? zone=UTC' }],
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    assert.equal(named.choices[0].message.tool_calls[0].function.name, 'get_time');
    assert.deepEqual(sent().at(-1).tool_choice, { type: 'tool', name: 'get_time' });
  });

  it('a json_schema answer comes back as content, streamed or not', async () => {
    const messages = [{ role: 'user', content: 'describe name=Ada' }];
    const r = await client.chat.completions.create({ model: 'auto', messages, response_format: person });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.choices[0].message.tool_calls, undefined);
    assert.deepEqual(JSON.parse(r.choices[0].message.content), { name: 'Ada', age: 42, tags: ['example'] });
    const asked = sent().at(-1);
    assert.deepEqual(asked.tools.map((t) => [t.name, t.input_schema]), [['nyxgate_json', person.json_schema.schema]]);
    assert.deepEqual(asked.tool_choice, { type: 'tool', name: 'nyxgate_json' });

    const streamed = await collect(await client.chat.completions.create({ model: 'auto', messages, response_format: person, stream: true }));
    assert.equal(streamed.finish, 'stop');
    assert.deepEqual(streamed.calls, []);
    assert.deepEqual(JSON.parse(streamed.content), { name: 'Ada', age: 42, tags: ['example'] });
  });

  it('images go as base64 and url image blocks', async () => {
    const r = await client.chat.completions.create({
      model: 'auto',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what are these' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
            { type: 'image_url', image_url: { url: 'https://images.example.com/cat.jpg', detail: 'low' } },
          ],
        },
      ],
    });
    assert.equal(r.choices[0].message.content, 'echo: what are these [images: image/png,image/jpeg]');
    assert.deepEqual(sent().at(-1).messages[0].content, [
      { type: 'text', text: 'what are these' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
      { type: 'image', source: { type: 'url', url: 'https://images.example.com/cat.jpg' } },
    ]);
  });

  it('reasoning_effort is a thinking budget', async () => {
    const r = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'think hard' }],
      reasoning_effort: 'medium',
      max_completion_tokens: 3000,
    });
    assert.equal(r.choices[0].message.content, 'echo: think hard');
    const asked = sent().at(-1);
    assert.deepEqual(asked.thinking, { type: 'enabled', budget_tokens: 2999 });
    assert.equal(asked.max_tokens, 3000);
  });

  it('cache reads count as cached prompt tokens', async () => {
    const words = 'one two three four five six seven eight nine ten';
    const r = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: words }] });
    assert.equal(r.usage.prompt_tokens, 10);
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 5);
    assert.equal(r.usage.completion_tokens, 11);
    const got = await collect(
      await client.chat.completions.create({
        model: 'auto',
        messages: [{ role: 'user', content: words }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    assert.equal(got.usage.prompt_tokens, 10);
    assert.equal(got.usage.prompt_tokens_details.cached_tokens, 5);
  });

  it('what Anthropic cannot do is a 400 naming the field, before anything goes upstream', async () => {
    const ask = [{ role: 'user', content: 'hi' }];
    await refused({ messages: ask, tools: [{ ...weather, function: { ...weather.function, name: 'nyxgate_json' } }] }, 'tools[0].function.name');
    await refused({ messages: ask, tools: [weather], response_format: person }, 'response_format');
    await refused({ messages: ask, tools: [weather], reasoning_effort: 'low' }, 'reasoning_effort');
    await refused({ messages: ask, temperature: 0.2, reasoning_effort: 'low' }, 'reasoning_effort');
    await refused({ messages: ask, max_tokens: 800, reasoning_effort: 'high' }, 'reasoning_effort');
    await refused(
      {
        tools: [weather],
        messages: [
          ...ask,
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '[1]' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'x' },
        ],
      },
      'messages[1].tool_calls[0].function.arguments',
    );
    await refused({ messages: ask, seed: 7 }, 'seed');
  });
});

describe('the mock Messages API refuses what the real one refuses', () => {
  const base = { model: 'claude-sonnet-4-5', max_tokens: 2000 };
  const tools = [{ name: 'get_weather', input_schema: { type: 'object' } }];
  const user = (content) => ({ role: 'user', content });
  const use = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] };
  const result = user([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }]);
  const image = (source) => user([{ type: 'image', source }]);
  const cases = [
    [{ messages: [user('q'), use, result] }, /must define tools/],
    [{ tools, messages: [user('q'), use, user('and?')] }, /`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1/],
    [{ tools, messages: [user('q'), use, user([{ type: 'tool_result', tool_use_id: 'toolu_2' }])] }, /unexpected `tool_use_id`/],
    [{ tool_choice: { type: 'auto' }, messages: [user('q')] }, /tool_choice may only be specified while providing tools/],
    [{ tools: [{ name: 'f', input_schema: { type: 'array' } }], messages: [user('q')] }, /tools\.0\.custom\.input_schema\.type/],
    [{ tools: [{ name: 'f' }], messages: [user('q')] }, /input_schema: Field required/],
    [{ tools, tool_choice: { type: 'none', disable_parallel_tool_use: true }, messages: [user('q')] }, /Extra inputs/],
    [{ messages: [image({ type: 'base64', media_type: 'image/bmp', data: 'AAAA' })] }, /media_type: Input should be/],
    [{ messages: [image({ type: 'base64', media_type: 'image/png', data: 'not base64!' })] }, /not valid base64/],
    [{ messages: [image({ type: 'url' })] }, /url: Field required/],
    [{ messages: [image({ type: 'file_url', url: 'https://x/y.png' })] }, /does not match any of the expected tags/],
    [{ messages: [user([{ type: 'text', text: '' }])] }, /text content blocks must be non-empty/],
    [{ messages: [user(''), { role: 'assistant', content: 'a' }, user('b')] }, /must have non-empty content/],
    [{ tools, messages: [user('q'), { ...use, content: [{ ...use.content[0], id: 'call.1' }] }, result] }, /tool_use\.id: String should match pattern/],
    [{ thinking: { type: 'enabled', budget_tokens: 512 }, messages: [user('q')] }, /budget_tokens: Input should be greater than or equal to 1024/],
    [{ thinking: { type: 'enabled', budget_tokens: 2000 }, messages: [user('q')] }, /`max_tokens` must be greater than `thinking.budget_tokens`/],
    [{ thinking: { type: 'enabled', budget_tokens: 1024 }, temperature: 0.5, messages: [user('q')] }, /`temperature` may only be set to 1/],
    [{ thinking: { type: 'enabled', budget_tokens: 1024 }, tools, tool_choice: { type: 'any' }, messages: [user('q')] }, /Thinking may not be enabled when tool_choice forces tool use/],
  ];
  for (const [body, message] of cases) {
    it(`refuses ${message.source.slice(0, 60)}`, () => {
      const r = parseAnthropic({ ...base, ...body });
      assert.equal(r.error?.status, 400, JSON.stringify(r.error ?? r.conversation));
      assert.match(r.error.message, message);
    });
  }

  it('takes the same body once it is valid', () => {
    const ok = parseAnthropic({
      ...base,
      tools,
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [
        user([{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } }]),
        use,
        result,
      ],
    });
    assert.equal(ok.error, undefined);
    assert.equal(ok.conversation.lastTurn, 'tool');
    assert.equal(ok.conversation.parallel, false);
    assert.deepEqual(ok.conversation.images, [{ mediaType: 'image/png', source: 'data' }]);
  });
});
