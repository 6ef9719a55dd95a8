// The npm `openai` SDK's tool and structured-output helpers against a real `nyxgate serve`,
// each case through each provider (a tenant per provider as its primary, model "auto"), the
// upstreams being the HTTPS mock's deterministic model (lib/mock_chat.mjs): runTools with two
// function tools, parse with zodResponseFormat, a streamed tool call assembled from its
// deltas, embeddings; and a tool conversation that fails over from OpenAI to Anthropic
// between its turns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';

import * as fx from './lib/sdk_fixtures.mjs';
import { PROVIDERS, useSdkGateway } from './lib/sdk_gateway.mjs';

const gateway = useSdkGateway();

const clientOf = (t) => new OpenAI({ apiKey: t.token, baseURL: `${gateway.gw.srv.url}/v1`, maxRetries: 0 });

for (const provider of PROVIDERS) {
  describe(`${provider}: the openai SDK`, () => {
    const t = () => gateway.gw.tenants[provider];

    it('chat.completions.runTools runs both function tools and ends with their results', async () => {
      const ran = [];
      const runnable = (name, parameters, result) => ({
        type: 'function',
        function: {
          name,
          parameters,
          parse: JSON.parse,
          function: (args) => {
            ran.push([name, args]);
            return result(args);
          },
        },
      });
      const before = gateway.gw.callsWith(t().key).length;
      const runner = clientOf(t()).chat.completions.runTools({
        model: 'auto',
        messages: [{ role: 'user', content: fx.bothToolsPrompt }],
        tools: [runnable('get_weather', fx.weatherParameters, fx.weatherResult), runnable('get_time', fx.timeParameters, fx.timeResult)],
      });
      assert.equal(await runner.finalContent(), fx.bothToolsAnswer);
      assert.deepEqual(ran, [
        ['get_weather', fx.bothToolsArguments[0]],
        ['get_time', fx.bothToolsArguments[1]],
      ]);
      const completions = runner.allChatCompletions();
      assert.deepEqual(completions.map((c) => c.choices[0].finish_reason), ['tool_calls', 'stop']);
      const calls = completions[0].choices[0].message.tool_calls;
      assert.equal(new Set(calls.map((c) => c.id)).size, 2, 'two distinct call ids');

      const upstream = gateway.gw.callsWith(t().key).slice(before);
      assert.equal(upstream.length, 2, 'one upstream call a turn');
      const results = fx.upstreamToolResults(provider, upstream[1].body);
      const expectedIds = provider === 'google' ? ['get_weather', 'get_time'] : calls.map((c) => c.id);
      assert.deepEqual(results, [
        [expectedIds[0], fx.weatherResult(fx.bothToolsArguments[0])],
        [expectedIds[1], fx.timeResult(fx.bothToolsArguments[1])],
      ]);
    });

    it('chat.completions.parse with zodResponseFormat parses the structured answer', async () => {
      const res = await clientOf(t()).chat.completions.parse({
        model: 'auto',
        messages: [{ role: 'user', content: fx.personPrompt }],
        response_format: zodResponseFormat(fx.Person, 'person'),
      });
      const msg = res.choices[0].message;
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.deepEqual(msg.parsed, fx.examplePerson);
      assert.deepEqual(JSON.parse(msg.content), fx.examplePerson);
      assert.ok(!msg.tool_calls?.length, 'the structured answer is content, not a tool call');
    });

    it('a streamed tool call assembles from its deltas: id, name, JSON arguments, finish_reason tool_calls', async () => {
      const stream = await clientOf(t()).chat.completions.create({
        model: 'auto',
        messages: [{ role: 'user', content: fx.bothToolsPrompt }],
        tools: fx.tools,
        stream: true,
        stream_options: { include_usage: true },
      });
      const calls = [];
      let finish = null;
      let usage = null;
      let text = '';
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices) {
          text += choice.delta.content ?? '';
          for (const d of choice.delta.tool_calls ?? []) {
            const c = (calls[d.index] ??= { id: '', name: '', arguments: '', pieces: 0 });
            if (d.id) {
              assert.equal(c.id, '', `call ${d.index} gets its id once`);
              c.id = d.id;
              assert.equal(d.type, 'function');
            }
            if (d.function?.name) c.name += d.function.name;
            if (d.function?.arguments) {
              c.arguments += d.function.arguments;
              c.pieces += 1;
            }
          }
          if (choice.finish_reason) finish = choice.finish_reason;
        }
      }
      assert.equal(text, '');
      assert.equal(finish, 'tool_calls');
      assert.deepEqual(calls.map((c) => c.name), ['get_weather', 'get_time']);
      assert.ok(calls.every((c) => c.id), 'every call has an id');
      assert.equal(new Set(calls.map((c) => c.id)).size, 2);
      assert.deepEqual(calls.map((c) => JSON.parse(c.arguments)), fx.bothToolsArguments);
      assert.ok(usage && usage.completion_tokens > 0, JSON.stringify(usage));
    });

    if (provider === 'openai' || provider === 'google') {
      it('embeddings.create answers one vector per input', async () => {
        const res = await clientOf(t()).embeddings.create({ model: 'auto', input: ['first text', 'second text'] });
        assert.equal(res.object, 'list');
        assert.equal(res.data.length, 2);
        assert.deepEqual(res.data.map((d) => d.index), [0, 1]);
        assert.ok(res.data.every((d) => d.embedding.length > 0 && d.embedding.every((x) => typeof x === 'number')));
        assert.ok(res.usage.prompt_tokens > 0);
      });
    }
  });
}

describe('failover in the middle of a tool conversation', () => {
  it('OpenAI answers the tool call, its credits run out, Anthropic answers the tool results', async () => {
    const t = await gateway.gw.tenant('sdk-failover', 'openai', 'anthropic');
    const openaiKey = await gateway.gw.addKey(t.owner, 'openai', 'exhaust');
    const anthropicKey = await gateway.gw.addKey(t.owner, 'anthropic', 'good');
    gateway.gw.mock.configure({ exhaustAfter: 1 });
    try {
      const client = clientOf(t);
      const messages = [{ role: 'user', content: 'call get_weather for city=Oslo' }];
      const first = await client.chat.completions.create({ model: 'auto', messages, tools: fx.tools }).withResponse();
      assert.equal(first.response.headers.get('x-nyxgate-provider'), 'openai');
      assert.equal(first.response.headers.get('x-nyxgate-fallback'), 'false');
      const msg = first.data.choices[0].message;
      assert.equal(first.data.choices[0].finish_reason, 'tool_calls');
      assert.deepEqual(msg.tool_calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]), [['get_weather', { city: 'Oslo', unit: 'celsius' }]]);

      messages.push(msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'snow, -3 C' });
      const second = await client.chat.completions.create({ model: 'auto', messages, tools: fx.tools }).withResponse();
      assert.equal(second.data.choices[0].message.content, 'echo: tool results: snow, -3 C');
      assert.equal(second.data.choices[0].finish_reason, 'stop');
      assert.equal(second.response.headers.get('x-nyxgate-provider'), 'anthropic');
      assert.equal(second.response.headers.get('x-nyxgate-fallback'), 'true');

      assert.deepEqual(gateway.gw.callsWith(openaiKey).map((c) => c.status), [200, 402]);
      const [served] = gateway.gw.callsWith(anthropicKey);
      const assistant = served.body.messages.find((m) => m.role === 'assistant');
      assert.deepEqual(
        assistant.content.filter((b) => b.type === 'tool_use').map((b) => [b.id, b.name, b.input]),
        [[msg.tool_calls[0].id, 'get_weather', { city: 'Oslo', unit: 'celsius' }]],
        'the OpenAI call id carries over into the Anthropic conversation',
      );
      assert.deepEqual(fx.upstreamToolResults('anthropic', served.body), [[msg.tool_calls[0].id, 'snow, -3 C']]);
    } finally {
      gateway.gw.mock.configure({ exhaustAfter: 5 });
    }
  });
});
