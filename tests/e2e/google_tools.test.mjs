// Tools, structured output and images through nyxgate to Google Gemini, with the npm `openai`
// SDK against a real `nyxgate serve` whose tenant has google as its primary; the upstream is
// the HTTPS mock, which checks Gemini's rules (turns alternate, a functionResponse names a
// function of the call turn before it, schemas hold only Gemini's keywords) and answers from
// its deterministic model. Each case looks at the Gemini body nyxgate sent as well as at the
// answer the SDK got. Also the mock's own Gemini checks, so a test above cannot pass against a
// mock laxer than the API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { makeCaFetch } from './lib/ca_fetch.mjs';
import { bothToolsPrompt, timeParameters, tools, weatherParameters, weatherResult } from './lib/sdk_fixtures.mjs';
import { startSdkGateway } from './lib/sdk_gateway.mjs';

let gw;
let google; // the tenant whose primary is google: {slug, token, owner, key}

before(async () => {
  gw = await startSdkGateway();
  google = gw.tenants.google;
});

after(() => gw?.stop());

const client = (t = google) => new OpenAI({ apiKey: t.token, baseURL: `${gw.srv.url}/v1`, maxRetries: 0 });

/** The Gemini bodies the mock got with `key` since `from` calls. */
const upstreamSince = (from, key = google.key) => gw.callsWith(key).slice(from).map((c) => c.body);

/** The 400 the SDK raised for a request nyxgate refused before anything went upstream. */
async function refused(request) {
  const from = gw.callsWith(google.key).length;
  const err = await client()
    .chat.completions.create({ model: 'auto', ...request })
    .then(
      () => assert.fail('the request was accepted'),
      (e) => e,
    );
  assert.ok(err instanceof OpenAI.BadRequestError, String(err));
  assert.equal(err.status, 400);
  assert.equal(gw.callsWith(google.key).length, from, 'nothing went to Gemini');
  return err;
}

const CALL_ID = /^call_[0-9a-f]{24}$/;

describe('google: tools through the openai SDK', () => {
  it('a tool round trip: functionCall out, functionResponse back, the final answer', async () => {
    const from = gw.callsWith(google.key).length;
    const messages = [{ role: 'user', content: 'what is the weather? get_weather city=Paris' }];
    const first = await client().chat.completions.create({ model: 'auto', messages, tools });
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    const [call] = choice.message.tool_calls;
    assert.match(call.id, CALL_ID);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });

    const [sent] = upstreamSince(from);
    assert.deepEqual(sent.tools, [
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: { type: 'object', properties: weatherParameters.properties, required: ['city', 'unit'] },
          },
          {
            name: 'get_time',
            description: 'The local time in a zone',
            parameters: { type: 'object', properties: timeParameters.properties, required: ['zone'] },
          },
        ],
      },
    ]);
    assert.equal(sent.toolConfig, undefined, 'no tool_choice: Gemini decides (AUTO)');

    const result = weatherResult(JSON.parse(call.function.arguments));
    const second = await client().chat.completions.create({
      model: 'auto',
      tools,
      messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: result }],
    });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.equal(second.choices[0].message.content, `echo: tool results: ${result}`);
    const [, back] = upstreamSince(from);
    assert.deepEqual(back.contents.slice(1), [
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { content: result } } }] },
    ]);
  });

  it('on Gemini 3 the replayed call carries the value Google documents for a lost thought signature', async () => {
    const from = gw.callsWith(google.key).length;
    const model = 'google/gemini-3-pro-preview';
    const messages = [{ role: 'user', content: 'get_time zone=CET' }];
    const first = await client().chat.completions.create({ model, messages, tools });
    const [call] = first.choices[0].message.tool_calls;
    const second = await client().chat.completions.create({
      model,
      tools,
      messages: [...messages, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '14:05' }],
    });
    assert.equal(second.choices[0].message.content, 'echo: tool results: 14:05');
    const [, back] = upstreamSince(from);
    assert.deepEqual(back.contents[1].parts, [{ functionCall: { name: 'get_time', args: { zone: 'CET' } }, thoughtSignature: 'skip_thought_signature_validator' }]);
  });

  it('two calls in one answer get distinct ids; a named tool_choice becomes ANY with that function', async () => {
    const from = gw.callsWith(google.key).length;
    const both = await client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: bothToolsPrompt }], tools });
    const calls = both.choices[0].message.tool_calls;
    assert.deepEqual(
      calls.map((c) => c.function.name),
      ['get_weather', 'get_time'],
    );
    assert.equal(new Set(calls.map((c) => c.id)).size, 2);
    for (const c of calls) assert.match(c.id, CALL_ID);

    const named = await client().chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: bothToolsPrompt }],
      tools,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    assert.deepEqual(
      named.choices[0].message.tool_calls.map((c) => c.function.name),
      ['get_time'],
    );
    const [, sent] = upstreamSince(from);
    assert.deepEqual(sent.toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } });
  });

  it('a streamed call arrives as its head (id, name) and then its whole arguments; finish tool_calls', async () => {
    const stream = await client().chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: bothToolsPrompt }],
      tools,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas = [];
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        deltas.push(...(c.delta.tool_calls ?? []));
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(deltas.length, 4);
    for (const index of [0, 1]) {
      const [head, args] = deltas.filter((d) => d.index === index);
      assert.match(head.id, CALL_ID);
      assert.equal(head.type, 'function');
      assert.equal(head.function.arguments, '');
      assert.equal(args.id, undefined);
      assert.ok(JSON.parse(args.function.arguments));
    }
    assert.deepEqual(
      deltas.filter((d) => d.function?.name).map((d) => d.function.name),
      ['get_weather', 'get_time'],
    );
    assert.notEqual(deltas[0].id, deltas[2].id);
    assert.ok(usage.prompt_tokens > 0);
  });

  it('parallel_tool_calls false is refused: Gemini cannot be told', async () => {
    const err = await refused({ messages: [{ role: 'user', content: 'x' }], tools, parallel_tool_calls: false });
    assert.equal(err.param, 'parallel_tool_calls');
    assert.equal(err.code, 'unsupported_parameter');
  });

  it('a tool schema keyword Gemini lacks is refused naming its full path', async () => {
    const err = await refused({
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { $ref: '#/$defs/x' } } } } }],
    });
    assert.equal(err.param, 'tools[0].function.parameters.properties.x.$ref');
    assert.equal(err.code, 'unsupported_parameter');
    assert.match(err.message, /is not supported by provider google/);
  });
});

describe('google: structured output', () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string' }, nick: { type: ['string', 'null'] }, tags: { type: 'array', items: { type: 'string' } } },
    required: ['name', 'nick', 'tags'],
    additionalProperties: false,
  };

  it('json_schema becomes responseMimeType + a converted responseSchema; the answer is the JSON', async () => {
    const from = gw.callsWith(google.key).length;
    const res = await client().chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'a person with name=Ada' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema } },
    });
    assert.equal(res.choices[0].finish_reason, 'stop');
    assert.deepEqual(JSON.parse(res.choices[0].message.content), { name: 'Ada', nick: 'example', tags: ['example'] });
    const [sent] = upstreamSince(from);
    assert.equal(sent.generationConfig.responseMimeType, 'application/json');
    assert.deepEqual(sent.generationConfig.responseSchema, {
      type: 'object',
      properties: { name: { type: 'string' }, nick: { type: 'string', nullable: true }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['name', 'nick', 'tags'],
    });
  });

  it('json_object asks for JSON without a schema', async () => {
    const from = gw.callsWith(google.key).length;
    const res = await client().chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'some JSON please' }],
      response_format: { type: 'json_object' },
    });
    assert.deepEqual(JSON.parse(res.choices[0].message.content), { echo: 'some JSON please' });
    const [sent] = upstreamSince(from);
    assert.equal(sent.generationConfig.responseMimeType, 'application/json');
    assert.equal(sent.generationConfig.responseSchema, undefined);
  });

  it('a schema keyword Gemini lacks is refused naming its path in the response format', async () => {
    const err = await refused({
      messages: [{ role: 'user', content: 'x' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'x', schema: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' }, uniqueItems: true } } } },
      },
    });
    assert.equal(err.param, 'response_format.json_schema.schema.properties.tags.uniqueItems');
    assert.equal(err.code, 'unsupported_parameter');
  });

  it('reasoning_effort becomes a thinking budget; cached and thought tokens reach the usage', async () => {
    const t = await gw.tenant(`google-cached-${Date.now()}`, 'google');
    const key = await gw.addKey(t.owner, 'google', 'cached');
    const res = await client(t).chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'one two three four five six' }],
      reasoning_effort: 'low',
    });
    const [sent] = gw.callsWith(key).map((c) => c.body);
    assert.deepEqual(sent.generationConfig.thinkingConfig, { thinkingBudget: 1024 });
    const u = res.usage;
    assert.equal(u.prompt_tokens_details.cached_tokens, Math.floor(u.prompt_tokens / 2));
    assert.ok(u.prompt_tokens_details.cached_tokens > 0);
    assert.equal(u.completion_tokens_details.reasoning_tokens, 3);
    assert.equal(u.completion_tokens, 3 + 'echo: one two three four five six'.split(' ').length);
  });
});

describe('google: images', () => {
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

  it('a data: URL becomes inlineData, an https URL fileData', async () => {
    const from = gw.callsWith(google.key).length;
    const res = await client().chat.completions.create({
      model: 'auto',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in these?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
            { type: 'image_url', image_url: { url: 'https://images.example/cat.jpg', detail: 'low' } },
          ],
        },
      ],
    });
    assert.equal(res.choices[0].message.content, 'echo: what is in these? [images: image/png,image/jpeg]');
    const [sent] = upstreamSince(from);
    assert.deepEqual(sent.contents, [
      {
        role: 'user',
        parts: [
          { text: 'what is in these?' },
          { inlineData: { mimeType: 'image/png', data: png } },
          { fileData: { mimeType: 'image/jpeg', fileUri: 'https://images.example/cat.jpg' } },
        ],
      },
    ]);
  });

  it('a GIF is refused naming its url: Gemini reads no GIF', async () => {
    const err = await refused({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x' },
            { type: 'image_url', image_url: { url: 'https://images.example/a.gif' } },
          ],
        },
      ],
    });
    assert.equal(err.param, 'messages[0].content[1].image_url.url');
  });
});

describe('mock: Gemini checks what the API checks', () => {
  let caFetch;
  before(() => {
    caFetch = makeCaFetch({ caFile: gw.mock.caFile, keepAlive: false });
  });

  async function gemini(body, model = 'gemini-2.5-flash') {
    const res = await caFetch(`${gw.mock.url}/v1beta/models/${model}:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': google.key.key },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  const call = { role: 'model', parts: [{ functionCall: { name: 'get_time', args: { zone: 'CET' } } }] };
  const user = { role: 'user', parts: [{ text: 'time?' }] };
  const fn = [{ functionDeclarations: [{ name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } }] }];

  const cases = [
    ['turns of one role in a row', { contents: [user, user] }, /alternate between user and model/],
    [
      'a Gemini 3 call replayed without its thought signature',
      { tools: fn, contents: [user, call, { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: {} } }] }] },
      /missing a thought_signature/,
      'gemini-3-pro-preview',
    ],
    [
      'a functionResponse naming another function',
      { tools: fn, contents: [user, call, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: {} } }] }] },
      /invalid argument/,
    ],
    [
      'a functionResponse without a name',
      { tools: fn, contents: [user, call, { role: 'user', parts: [{ functionResponse: { response: {} } }] }] },
      /function_response.name: Name cannot be empty/,
    ],
    [
      'a JSON Schema type array',
      { tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'object', properties: { a: { type: ['string', 'null'] } } } }] }], contents: [user] },
      /Invalid value at .*\.type/,
    ],
    ['an unknown schema keyword', { contents: [user], generationConfig: { responseMimeType: 'application/json', responseSchema: { type: 'string', const: 'x' } } }, /Unknown name "const"/],
    ['a number enum', { contents: [user], generationConfig: { responseMimeType: 'application/json', responseSchema: { type: 'integer', enum: [1] } } }, /enum\[0\]/],
    ['a function name starting with a digit', { tools: [{ functionDeclarations: [{ name: '1f' }] }], contents: [user] }, /Invalid function name/],
    ['a GIF', { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/gif', data: 'R0lGOD==' } }] }] }, /Unsupported MIME type: image\/gif/],
  ];
  for (const [name, body, message, model] of cases) {
    it(`answers 400 INVALID_ARGUMENT for ${name}`, async () => {
      const res = await gemini(body, model);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.status, 'INVALID_ARGUMENT');
      assert.match(res.body.error.message, message);
    });
  }

  it('takes what nyxgate sends: alternating turns with matching function responses', async () => {
    const res = await gemini({ tools: fn, contents: [user, call, { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: { content: '14:05' } } }] }] });
    assert.equal(res.status, 200);
    assert.equal(res.body.candidates[0].content.parts[0].text, 'echo: tool results: 14:05');
  });
});
