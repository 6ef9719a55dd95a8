// The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible`) against a real `nyxgate serve`,
// each case through each provider (a tenant per provider as its primary, model "auto"), the
// upstreams being the HTTPS mock's deterministic model (lib/mock_chat.mjs): generateText
// with tools over several steps, streamText (text, and a tool step), generateObject with a
// Zod schema sent as json_schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

import { ECHO_PREFIX, countWords } from './lib/mock_providers.mjs';
import * as fx from './lib/sdk_fixtures.mjs';
import { PROVIDERS, useSdkGateway } from './lib/sdk_gateway.mjs';

const gateway = useSdkGateway();

/** nyxgate as an OpenAI-compatible provider of the AI SDK, with a tenant's token. */
function modelOf(t) {
  const nyxgate = createOpenAICompatible({
    name: 'nyxgate',
    baseURL: `${gateway.gw.srv.url}/v1`,
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
        return fx.weatherResult(input);
      },
    }),
    get_time: tool({
      description: 'The local time in a zone',
      inputSchema: z.object({ zone: z.string() }),
      execute: async (input) => {
        ran.push(['get_time', input]);
        return fx.timeResult(input);
      },
    }),
  };
}

for (const provider of PROVIDERS) {
  describe(`${provider}: the AI SDK`, () => {
    const t = () => gateway.gw.tenants[provider];

    it('generateText with tools runs both tools and answers with their results in the next step', async () => {
      const ran = [];
      const result = await generateText({
        model: modelOf(t()),
        tools: recordingTools(ran),
        stopWhen: stepCountIs(4),
        prompt: fx.bothToolsPrompt,
      });
      assert.equal(result.text, fx.bothToolsAnswer);
      assert.deepEqual(ran, [
        ['get_weather', fx.bothToolsArguments[0]],
        ['get_time', fx.bothToolsArguments[1]],
      ]);
      assert.equal(result.steps.length, 2);
      assert.equal(result.steps[0].finishReason, 'tool-calls');
      assert.deepEqual(result.steps[0].toolCalls.map((c) => [c.toolName, c.input]), [
        ['get_weather', fx.bothToolsArguments[0]],
        ['get_time', fx.bothToolsArguments[1]],
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

    it('usage reports cached prompt tokens and reasoning tokens as the provider counted them', async () => {
      const prompt = `count the tokens through ${provider} please`;
      const { text, usage } = await generateText({ model: modelOf(t()), prompt });
      assert.equal(text, `${ECHO_PREFIX}${prompt}`);
      // The mock's "cached" key: half the prompt read from the cache, 3 reasoning tokens,
      // which Anthropic does not report apart.
      const reasoning = provider === 'anthropic' ? 0 : 3;
      assert.equal(usage.inputTokens, countWords(prompt));
      assert.equal(usage.inputTokenDetails.cacheReadTokens, Math.floor(countWords(prompt) / 2));
      assert.equal(usage.outputTokenDetails.reasoningTokens, reasoning);
      assert.equal(usage.outputTokens, countWords(text) + reasoning);
    });

    it('streamText with tools streams a tool step, then the text of the next step', async () => {
      const ran = [];
      const result = streamText({ model: modelOf(t()), tools: recordingTools(ran), stopWhen: stepCountIs(4), prompt: fx.bothToolsPrompt });
      const parts = [];
      for await (const part of result.fullStream) parts.push(part);
      const calls = parts.filter((p) => p.type === 'tool-call');
      assert.deepEqual(calls.map((c) => [c.toolName, c.input]), [
        ['get_weather', fx.bothToolsArguments[0]],
        ['get_time', fx.bothToolsArguments[1]],
      ]);
      assert.ok(parts.some((p) => p.type === 'tool-input-delta'), 'the arguments streamed as deltas');
      assert.deepEqual(parts.filter((p) => p.type === 'tool-result').map((p) => p.output), [fx.weatherResult(fx.bothToolsArguments[0]), fx.timeResult(fx.bothToolsArguments[1])]);
      assert.equal(parts.filter((p) => p.type === 'text-delta').map((p) => p.text).join(''), fx.bothToolsAnswer);
      assert.deepEqual(parts.filter((p) => p.type === 'finish-step').map((p) => p.finishReason), ['tool-calls', 'stop']);
      assert.equal(ran.length, 2);
    });

    it('generateObject with a Zod schema sends json_schema and returns the object', async () => {
      const before = gateway.gw.callsWith(t().key).length;
      const { object, finishReason } = await generateObject({ model: modelOf(t()), schema: fx.Person, prompt: fx.personPrompt });
      assert.deepEqual(object, fx.examplePerson);
      assert.equal(finishReason, 'stop');
      const [sent] = gateway.gw.callsWith(t().key).slice(before);
      const b = sent.body;
      if (provider === 'anthropic') {
        assert.deepEqual(b.tool_choice, { type: 'tool', name: 'nyxgate_json' });
      } else if (provider === 'google') {
        assert.equal(b.generationConfig.responseMimeType, 'application/json');
        assert.deepEqual(Object.keys(b.generationConfig.responseSchema.properties), Object.keys(fx.examplePerson));
      } else {
        assert.equal(b.response_format.type, 'json_schema');
        assert.deepEqual(Object.keys(b.response_format.json_schema.schema.properties), Object.keys(fx.examplePerson));
      }
    });
  });
}
