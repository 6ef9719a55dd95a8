// The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible`) against a real `nyxgate serve`,
// each case through each provider (a tenant per provider as its primary, model "auto"), the
// upstreams being the HTTPS mock's deterministic model (lib/mock_chat.mjs): generateText
// with tools over several steps, streamText (text, and a tool step), generateObject with a
// Zod schema sent as json_schema.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

import { ECHO_PREFIX } from './lib/mock_providers.mjs';
import {
  Person,
  bothToolsAnswer,
  bothToolsArguments,
  bothToolsPrompt,
  examplePerson,
  personPrompt,
  timeResult,
  weatherResult,
} from './lib/sdk_fixtures.mjs';
import { PROVIDERS, startSdkGateway } from './lib/sdk_gateway.mjs';

let gw;

before(async () => {
  gw = await startSdkGateway();
});

after(() => gw?.stop());

/** nyxgate as an OpenAI-compatible provider of the AI SDK, with a tenant's token. */
function modelOf(t) {
  const nyxgate = createOpenAICompatible({
    name: 'nyxgate',
    baseURL: `${gw.srv.url}/v1`,
    apiKey: t.token,
    includeUsage: true,
    // Without it the AI SDK asks for json_object and puts the schema into the prompt.
    supportsStructuredOutputs: true,
  });
  return nyxgate.chatModel('auto');
}

/** The two tools with execute functions that record their input. */
function recordingTools(ran) {
  return {
    get_weather: tool({
      description: 'The weather in a city',
      inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
      execute: async (input) => {
        ran.push(['get_weather', input]);
        return weatherResult(input);
      },
    }),
    get_time: tool({
      description: 'The local time in a zone',
      inputSchema: z.object({ zone: z.string() }),
      execute: async (input) => {
        ran.push(['get_time', input]);
        return timeResult(input);
      },
    }),
  };
}

for (const provider of PROVIDERS) {
  describe(`${provider}: the AI SDK`, () => {
    const t = () => gw.tenants[provider];

    it('generateText with tools runs both tools and answers with their results in the next step', async () => {
      const ran = [];
      const result = await generateText({
        model: modelOf(t()),
        tools: recordingTools(ran),
        stopWhen: stepCountIs(4),
        prompt: bothToolsPrompt,
      });
      assert.equal(result.text, bothToolsAnswer);
      assert.deepEqual(ran, [
        ['get_weather', bothToolsArguments[0]],
        ['get_time', bothToolsArguments[1]],
      ]);
      assert.equal(result.steps.length, 2);
      assert.equal(result.steps[0].finishReason, 'tool-calls');
      assert.deepEqual(result.steps[0].toolCalls.map((c) => [c.toolName, c.input]), [
        ['get_weather', bothToolsArguments[0]],
        ['get_time', bothToolsArguments[1]],
      ]);
      assert.equal(result.finishReason, 'stop');
      assert.ok(result.totalUsage.inputTokens > 0 && result.totalUsage.outputTokens > 0, JSON.stringify(result.totalUsage));
    });

    it('streamText streams the answer text', async () => {
      const result = streamText({ model: modelOf(t()), prompt: `stream this through ${provider} please` });
      let text = '';
      let deltas = 0;
      for await (const piece of result.textStream) {
        text += piece;
        deltas += 1;
      }
      assert.equal(text, `${ECHO_PREFIX}stream this through ${provider} please`);
      assert.ok(deltas > 1, `several text deltas (${deltas})`);
      assert.equal(await result.finishReason, 'stop');
      assert.ok((await result.usage).outputTokens > 0);
    });

    it('streamText with tools streams a tool step, then the text of the next step', async () => {
      const ran = [];
      const result = streamText({ model: modelOf(t()), tools: recordingTools(ran), stopWhen: stepCountIs(4), prompt: bothToolsPrompt });
      const parts = [];
      for await (const part of result.fullStream) parts.push(part);
      const calls = parts.filter((p) => p.type === 'tool-call');
      assert.deepEqual(calls.map((c) => [c.toolName, c.input]), [
        ['get_weather', bothToolsArguments[0]],
        ['get_time', bothToolsArguments[1]],
      ]);
      assert.ok(parts.some((p) => p.type === 'tool-input-delta'), 'the arguments streamed as deltas');
      assert.deepEqual(parts.filter((p) => p.type === 'tool-result').map((p) => p.output), [weatherResult(bothToolsArguments[0]), timeResult(bothToolsArguments[1])]);
      assert.equal(parts.filter((p) => p.type === 'text-delta').map((p) => p.text).join(''), bothToolsAnswer);
      assert.deepEqual(parts.filter((p) => p.type === 'finish-step').map((p) => p.finishReason), ['tool-calls', 'stop']);
      assert.equal(ran.length, 2);
    });

    it('generateObject with a Zod schema sends json_schema and returns the object', async () => {
      const before = gw.callsWith(t().key).length;
      const { object, finishReason } = await generateObject({ model: modelOf(t()), schema: Person, prompt: personPrompt });
      assert.deepEqual(object, examplePerson);
      assert.equal(finishReason, 'stop');
      const [sent] = gw.callsWith(t().key).slice(before);
      const b = sent.body;
      if (provider === 'anthropic') {
        assert.deepEqual(b.tool_choice, { type: 'tool', name: 'nyxgate_json' });
      } else if (provider === 'google') {
        assert.equal(b.generationConfig.responseMimeType, 'application/json');
        assert.deepEqual(Object.keys(b.generationConfig.responseSchema.properties), Object.keys(examplePerson));
      } else {
        assert.equal(b.response_format.type, 'json_schema');
        assert.deepEqual(Object.keys(b.response_format.json_schema.schema.properties), Object.keys(examplePerson));
      }
    });
  });
}
