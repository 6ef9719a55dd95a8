// What the SDK end-to-end suites ask the mock model, and what it must answer (see
// mock_chat.mjs generate()): two function tools, the prompts that make it call them, and a
// Zod schema with the object the mock fills it with.
import { z } from 'zod';

export const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
export const timeParameters = {
  type: 'object',
  properties: { zone: { type: 'string' } },
  required: ['zone'],
  additionalProperties: false,
};

/** The two tools as OpenAI `tools` entries. */
export const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters } },
  { type: 'function', function: { name: 'get_time', description: 'The local time in a zone', parameters: timeParameters } },
];

/** A prompt naming both tools: the mock calls both, with these arguments. */
export const bothToolsPrompt = 'call get_weather and get_time for city=Paris zone=CET';
export const bothToolsArguments = [
  { city: 'Paris', unit: 'celsius' },
  { zone: 'CET' },
];

/** What the tools answer, and the mock's final answer once it has both results. */
export const weatherResult = (args) => `sunny in ${args.city}`;
export const timeResult = (args) => `14:05 in ${args.zone}`;
export const bothToolsAnswer = 'echo: tool results: sunny in Paris; 14:05 in CET';

export const Person = z.object({
  name: z.string(),
  age: z.number().int(),
  tags: z.array(z.string()),
  member: z.boolean(),
});
export const personPrompt = 'invent a person with name=Ada';
/** The mock's example for Person: the named string from the prompt, 42, one item, true. */
export const examplePerson = { name: 'Ada', age: 42, tags: ['example'], member: true };

/** The tool results as the upstream request carries them, in each wire format. */
export function upstreamToolResults(provider, body) {
  if (provider === 'anthropic') {
    return body.messages.at(-1).content.filter((b) => b.type === 'tool_result').map((b) => [b.tool_use_id, typeof b.content === 'string' ? b.content : b.content.map((p) => p.text).join('')]);
  }
  if (provider === 'google') {
    return body.contents.at(-1).parts.filter((p) => p.functionResponse).map((p) => [p.functionResponse.name, p.functionResponse.response.content]);
  }
  return body.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content]);
}
