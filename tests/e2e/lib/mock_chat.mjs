// The chat endpoints of the mock providers (see mock_providers.mjs): request validation,
// the deterministic answer, and each provider's wire format for answers, stream events and
// errors. Pure functions, no I/O: mock_providers.mjs does the HTTP.
//
// Each parse*() checks a body as the real API does and reads it into the same `input` (texts,
// stop sequences, token limit) and `conversation` (tools, tool choice, format, images, tool
// results); generate() answers from those alone, so the four wire formats give the same
// answer: example JSON for a structured-output format, tool calls with example arguments
// for a user turn that offers tools, "echo: tool results: ..." after tool results, else
// "echo: " + the text of the last user message, cut at the first stop sequence the request
// names and then at its output-token limit. A token is a whitespace-separated word, both
// for the prompt (every text of the request, system included) and for the answer.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export const ECHO_PREFIX = 'echo: ';

const hex = (n) => randomBytes(n).toString('hex');
const base62 = (n) => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(n), (b) => abc[b % abc.length]).join('');
};

/** Number of tokens of `text` as the mock counts them: whitespace-separated words. */
export function countWords(text) {
  return (text.match(/\S+/g) ?? []).length;
}

/**
 * Splits `text` into stream pieces whose concatenation is `text`.
 * `chunks` (a count) wins when given: pieces of whole words when there are enough words,
 * otherwise pieces of characters (at most one piece per character). Without it, pieces of
 * `wordsPerChunk` words. Always at least one piece.
 */
export function chunkText(text, { chunks = null, wordsPerChunk = 2 } = {}) {
  const words = text.match(/\s*\S+/g) ?? [];
  const tail = text.slice(words.join('').length);
  if (tail) {
    if (words.length) words[words.length - 1] += tail;
    else words.push(tail);
  }
  const group = (items, n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const from = Math.floor((i * items.length) / n);
      const to = Math.floor(((i + 1) * items.length) / n);
      out.push(items.slice(from, to).join(''));
    }
    return out;
  };
  if (chunks !== null && chunks > 0) {
    if (chunks <= words.length) return group(words, chunks);
    const chars = Array.from(text);
    return chars.length ? group(chars, Math.min(chunks, chars.length)) : [''];
  }
  if (!words.length) return [''];
  const per = Math.max(1, wordsPerChunk);
  const out = [];
  for (let i = 0; i < words.length; i += per) out.push(words.slice(i, i + per).join(''));
  return out;
}

// ---- the model: conversation, example values, the answer -----------------------------------

/**
 * What a request asks of the model, the same for every wire format (each parse*() fills it):
 * tools [{name, parameters}], toolChoice 'auto'|'none'|'required'|{name}, parallel,
 * format null|{type:'json_object'}|{type:'json_schema', schema}, images [{mediaType, source:
 * 'data'|'url'}], lastTurn 'user'|'tool', toolResults [{id, name, content}] of the last turn.
 */
export function emptyConversation() {
  return { tools: [], toolChoice: 'auto', parallel: true, format: null, images: [], lastTurn: 'user', toolResults: [] };
}

const IMAGE_TYPES = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

/** The media type an image URL names: a data: URL's type, else its path's extension (or null). */
export function imageMediaType(url) {
  const data = /^data:([^;,]+)[;,]/.exec(url ?? '');
  if (data) return data[1];
  try {
    const ext = /\.([a-z0-9]+)$/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    return IMAGE_TYPES[ext] ?? null;
  } catch {
    return null;
  }
}

/** The word after "<name>=" in `text`, or null. */
function wordAfter(text, name) {
  if (!name) return null;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:^|[^\\w])${escaped}=([^\\s,;]+)`).exec(text ?? '')?.[1] ?? null;
}

function resolveRef(root, ref) {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return {};
  let node = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node ?? {};
}

/**
 * The value the mock model fills a JSON Schema with: a string takes the word after
 * "<property>=" in `text` when there is one, else "example"; integer and number 42; boolean
 * true; enum and const their (first) value; an array one item; an object all its
 * properties. Gemini's upper-case type names count too.
 */
export function example(schema, text = '', { root = schema, name = null, depth = 0 } = {}) {
  if (!schema || typeof schema !== 'object' || depth > 32) return null;
  const next = (s, n = name) => example(s, text, { root, name: n, depth: depth + 1 });
  if (schema.$ref) return next(resolveRef(root, schema.$ref));
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  for (const k of ['anyOf', 'oneOf', 'allOf']) {
    if (Array.isArray(schema[k]) && schema[k].length) {
      const branch = schema[k].find((s) => s?.type !== 'null') ?? schema[k][0];
      return next(branch);
    }
  }
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => String(t).toLowerCase() !== 'null') ?? 'null';
  type = type ? String(type).toLowerCase() : schema.properties ? 'object' : schema.items ? 'array' : 'string';
  switch (type) {
    case 'object': {
      const out = {};
      const props = schema.properties ?? {};
      for (const k of schema.required ?? []) if (k in props) out[k] = next(props[k], k);
      for (const [k, s] of Object.entries(props)) if (!(k in out)) out[k] = next(s, k);
      return out;
    }
    case 'array':
      return [next(Array.isArray(schema.items) ? schema.items[0] : (schema.items ?? schema.prefixItems?.[0] ?? {}))];
    case 'integer':
    case 'number':
      return 42;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return wordAfter(text, name) ?? 'example';
  }
}

/** The tools the model calls for `c` (an empty list: it answers in text). */
function chosenTools(c, lastUserText) {
  if (!c.tools.length || c.toolChoice === 'none' || c.lastTurn !== 'user') return [];
  let chosen;
  if (typeof c.toolChoice === 'object' && c.toolChoice?.name) {
    chosen = c.tools.filter((t) => t.name === c.toolChoice.name).slice(0, 1);
  } else {
    chosen = c.tools.filter((t) => new RegExp(`(^|[^\\w])${t.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w]|$)`).test(lastUserText));
  }
  if (!chosen.length) chosen = [c.tools[0]];
  return c.parallel === false ? chosen.slice(0, 1) : chosen;
}

/**
 * The answer to a request: {text, finish (stop | stop_sequence | length | tool_calls),
 * stopSequence, toolCalls [{name, input, arguments}], promptTokens, completionTokens
 * (reasoning included), cachedTokens, reasoningTokens, seed (for stable tool call ids)}.
 * In this order: a structured-output format answers example JSON (json_object:
 * {"echo": last user text}); tools called for a user turn answer tool calls; a tool-result
 * turn answers "echo: tool results: " + the results' contents joined "; "; else the echo of
 * the last user message, " [images: <types>]" appended when the request held images. Text
 * is cut at the first stop sequence, then at the output-token limit. `cached` (the key says
 * "cached"): half the prompt tokens come from the cache and 3 reasoning tokens are spent.
 */
export function generate({ lastUserText, allText, stop = [], maxTokens = null }, conversation = emptyConversation(), { cached = false } = {}) {
  const c = { ...emptyConversation(), ...conversation };
  const promptTokens = countWords(allText);
  const reasoningTokens = cached ? 3 : 0;
  const usage = { promptTokens, cachedTokens: cached ? Math.floor(promptTokens / 2) : 0, reasoningTokens };
  const seed = createHash('sha256').update(allText).update(JSON.stringify(c.toolResults)).digest('hex');
  const calls = c.format ? [] : chosenTools(c, lastUserText);
  if (calls.length) {
    const toolCalls = calls.map((t) => {
      const input = example(t.parameters ?? { type: 'object', properties: {} }, lastUserText) ?? {};
      return { name: t.name, input, arguments: JSON.stringify(input) };
    });
    const words = toolCalls.reduce((n, t) => n + countWords(`${t.name} ${t.arguments}`), 0);
    return { text: '', finish: 'tool_calls', stopSequence: null, toolCalls, completionTokens: words + reasoningTokens, seed, ...usage };
  }
  let text;
  if (c.format?.type === 'json_schema') text = JSON.stringify(example(c.format.schema ?? {}, lastUserText));
  else if (c.format?.type === 'json_object') text = JSON.stringify({ echo: lastUserText });
  else if (c.lastTurn === 'tool') text = `${ECHO_PREFIX}tool results: ${c.toolResults.map((r) => r.content).join('; ')}`;
  else {
    text = ECHO_PREFIX + lastUserText;
    if (c.images.length) text += ` [images: ${c.images.map((i) => i.mediaType).join(',')}]`;
  }
  let finish = 'stop';
  let stopSequence = null;
  let cut = -1;
  for (const s of stop) {
    const at = s ? text.indexOf(s) : -1;
    if (at >= 0 && (cut < 0 || at < cut)) [cut, stopSequence] = [at, s];
  }
  if (cut >= 0) {
    text = text.slice(0, cut);
    finish = 'stop_sequence';
  }
  if (maxTokens !== null && countWords(text) > maxTokens) {
    const words = text.match(/\s*\S+/g) ?? [];
    text = words.slice(0, Math.max(0, maxTokens)).join('');
    finish = 'length';
    stopSequence = null;
  }
  return { text, finish, stopSequence, toolCalls: [], completionTokens: countWords(text) + reasoningTokens, seed, ...usage };
}

/** A stable id for tool call `i` of answer `g`: `prefix` + `length` characters. */
export function toolCallId(g, i, prefix, length = 24) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = createHash('sha256').update(`${g.seed ?? ''}:${i}`).digest();
  let out = '';
  for (let k = 0; out.length < length; k++) out += abc[bytes[k % bytes.length] % abc.length];
  return prefix + out;
}

/** Splits a tool call's arguments into stream fragments of about `size` characters. */
export function argumentFragments(args, size = 8) {
  const out = [];
  for (let i = 0; i < args.length; i += size) out.push(args.slice(i, i + size));
  return out.length ? out : [''];
}
// ---- request parsing --------------------------------------------------------------------

function textOfParts(content, textType = 'text') {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p) => p && (p.type === textType || (p.type === undefined && typeof p.text === 'string')))
    .map((p) => p.text ?? '')
    .join(' ');
}

const OPENAI_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * What OpenAI's strict mode refuses in a schema (null when it takes it): the root must be an
 * object, and every object must list all its properties as required and forbid others.
 */
function strictSchemaProblem(schema, root = true, context = []) {
  if (!schema || typeof schema !== 'object') return null;
  const where = `In context=(${context.map((c) => `'${c}'`).join(', ')}${context.length === 1 ? ',' : ''})`;
  if (root && schema.type !== 'object') return `schema must be a JSON Schema of 'type: "object"', got 'type: "${schema.type}"'.`;
  if (schema.type === 'object' || schema.properties) {
    if (schema.additionalProperties !== false) return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const keys = Object.keys(schema.properties ?? {});
    const missing = keys.filter((k) => !(schema.required ?? []).includes(k));
    if (missing.length) return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    for (const k of keys) {
      const p = strictSchemaProblem(schema.properties[k], false, [...context, 'properties', k]);
      if (p) return p;
    }
  }
  if (schema.items) return strictSchemaProblem(schema.items, false, [...context, 'items']);
  for (const k of ['anyOf', '$defs', 'definitions']) {
    const list = Array.isArray(schema[k]) ? schema[k].entries() : Object.entries(schema[k] ?? {});
    for (const [i, s] of list) {
      const p = strictSchemaProblem(s, false, [...context, k, String(i)]);
      if (p) return p;
    }
  }
  return null;
}

/** tools, tool_choice, parallel_tool_calls and response_format of an OpenAI body as the conversation's. */
function openaiOptions(body, bad) {
  const c = emptyConversation();
  if (body.tools != null) {
    if (!Array.isArray(body.tools)) return bad(`Invalid type for 'tools': expected an array, but got ${typeof body.tools} instead.`, 'tools');
    for (const [i, t] of body.tools.entries()) {
      if (t?.type !== 'function') return bad(`Invalid value: '${t?.type}'. Supported values are: 'function' and 'custom'.`, `tools[${i}].type`);
      const name = t.function?.name;
      if (typeof name !== 'string') return bad(`Missing required parameter: 'tools[${i}].function.name'.`, `tools[${i}].function.name`);
      if (!TOOL_NAME.test(name)) {
        return bad(`Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, `tools[${i}].function.name`);
      }
      if (t.function.strict === true) {
        const p = strictSchemaProblem(t.function.parameters);
        if (p) return bad(`Invalid schema for function '${name}': ${p}`, `tools[${i}].function.parameters`);
      }
      c.tools.push({ name, parameters: t.function.parameters ?? { type: 'object', properties: {} } });
    }
  }
  const noTools = !c.tools.length;
  if (body.tool_choice != null) {
    if (noTools) return bad("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
    const tc = body.tool_choice;
    if (typeof tc === 'string') {
      if (!['auto', 'none', 'required'].includes(tc)) return bad(`Invalid value: '${tc}'. Supported values are: 'none', 'auto', and 'required'.`, 'tool_choice');
      c.toolChoice = tc;
    } else if (tc?.type === 'function' && typeof tc.function?.name === 'string') {
      if (!c.tools.some((t) => t.name === tc.function.name)) return bad(`Invalid value for 'tool_choice': function '${tc.function.name}' not found in 'tools'.`, 'tool_choice');
      c.toolChoice = { name: tc.function.name };
    } else {
      return bad("Missing required parameter: 'tool_choice.function'.", 'tool_choice.function');
    }
  }
  if (body.parallel_tool_calls != null) {
    if (noTools) return bad("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", 'parallel_tool_calls');
    c.parallel = body.parallel_tool_calls !== false;
  }
  const rf = body.response_format;
  if (rf != null) {
    if (!['text', 'json_object', 'json_schema'].includes(rf?.type)) {
      return bad(`Invalid value: '${rf?.type}'. Supported values are: 'json_object', 'json_schema', and 'text'.`, 'response_format.type');
    }
    if (rf.type === 'json_object') {
      if (!JSON.stringify(body.messages).toLowerCase().includes('json')) {
        return bad("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages');
      }
      c.format = { type: 'json_object' };
    }
    if (rf.type === 'json_schema') {
      const js = rf.json_schema;
      if (js == null) return bad("Missing required parameter: 'response_format.json_schema'.", 'response_format.json_schema');
      if (typeof js.name !== 'string') return bad("Missing required parameter: 'response_format.json_schema.name'.", 'response_format.json_schema.name');
      if (!TOOL_NAME.test(js.name)) {
        return bad("Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", 'response_format.json_schema.name');
      }
      if (js.strict === true) {
        const p = strictSchemaProblem(js.schema);
        if (p) return bad(`Invalid schema for response_format '${js.name}': ${p}`, 'response_format');
      }
      c.format = { type: 'json_schema', schema: js.schema ?? {} };
    }
  }
  return { conversation: c };
}

/** The images of an OpenAI message's parts into `images`; an error when one is malformed. */
function openaiImages(m, i, images, bad) {
  if (!Array.isArray(m.content)) return null;
  for (const [j, p] of m.content.entries()) {
    if (p?.type !== 'image_url') continue;
    if (m.role !== 'user') {
      return bad(`Invalid 'messages[${i}]'. Image URLs are only allowed for messages with role 'user', but this message with role '${m.role}' contains an image URL.`, `messages[${i}]`);
    }
    const url = p.image_url?.url;
    if (typeof url !== 'string') return bad(`Missing required parameter: 'messages[${i}].content[${j}].image_url.url'.`, `messages[${i}].content[${j}].image_url.url`);
    const data = url.startsWith('data:');
    const mediaType = imageMediaType(url);
    if ((data && !/^data:image\/[a-z]+;base64,[A-Za-z0-9+/=]+$/.test(url)) || (!data && !/^https?:\/\//.test(url))) {
      return bad(
        `Invalid 'messages[${i}].content[${j}].image_url.url'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got an invalid value.`,
        `messages[${i}].content[${j}].image_url.url`,
      );
    }
    images.push({ mediaType: mediaType ?? 'application/octet-stream', source: data ? 'data' : 'url' });
  }
  return null;
}

/**
 * The tool turns of an OpenAI conversation, checked as OpenAI does: a tool message answers a
 * call of the assistant message before it (or before the tool messages before it), and every
 * call is answered before the next other message. Fills lastTurn and toolResults.
 */
function openaiToolTurns(messages, c, bad) {
  let open = null; // the latest assistant message's calls: id -> name
  let answered = new Set();
  let results = [];
  const unanswered = () => [...open.keys()].filter((id) => !answered.has(id));
  for (const [i, m] of messages.entries()) {
    if (m.role === 'tool') {
      if (!open) return bad("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `messages.[${i}].role`);
      if (!open.has(m.tool_call_id)) {
        return bad(`Invalid parameter: 'tool_call_id' of '${m.tool_call_id}' not found in 'tool_calls' of previous message.`, `messages.[${i}].tool_call_id`);
      }
      answered.add(m.tool_call_id);
      results.push({ id: m.tool_call_id, name: open.get(m.tool_call_id), content: textOfParts(m.content) });
      continue;
    }
    if (open && unanswered().length) {
      return bad(
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${unanswered().join(', ')}`,
        `messages.[${i}].role`,
      );
    }
    open = null;
    results = [];
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length) {
      open = new Map();
      answered = new Set();
      for (const [j, tc] of m.tool_calls.entries()) {
        if (typeof tc?.id !== 'string') return bad(`Missing required parameter: 'messages[${i}].tool_calls[${j}].id'.`, `messages[${i}].tool_calls[${j}].id`);
        if (typeof tc.function?.arguments !== 'string') {
          return bad(`Missing required parameter: 'messages[${i}].tool_calls[${j}].function.arguments'.`, `messages[${i}].tool_calls[${j}].function.arguments`);
        }
        open.set(tc.id, tc.function.name);
      }
    }
  }
  if (open && unanswered().length) {
    return bad(
      `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${unanswered().join(', ')}`,
      `messages.[${messages.length - 1}].role`,
    );
  }
  c.lastTurn = messages.at(-1).role === 'tool' ? 'tool' : 'user';
  c.toolResults = c.lastTurn === 'tool' ? results : [];
  return null;
}

/**
 * Validates an OpenAI/Kimi chat body. Returns {error: {status, message, param}} or
 * {model, stream, includeUsage, input: {lastUserText, allText, stop, maxTokens}, conversation}.
 */
export function parseOpenAI(body) {
  const bad = (message, param = null) => ({ error: { status: 400, message, param } });
  if (typeof body?.model !== 'string' || !body.model) return bad('you must provide a model parameter');
  if (!Array.isArray(body.messages)) return bad("Missing required parameter: 'messages'.", 'messages');
  if (body.messages.length === 0) return bad("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages');
  for (const [i, m] of body.messages.entries()) {
    if (!OPENAI_ROLES.has(m?.role)) {
      return bad(`Invalid value: '${m?.role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`, `messages[${i}].role`);
    }
  }
  if (body.stream_options != null && body.stream !== true) {
    return bad('The \'stream_options\' parameter is only allowed when \'stream\' is enabled.', 'stream_options');
  }
  const options = openaiOptions(body, bad);
  if (options.error) return options;
  const c = options.conversation;
  for (const [i, m] of body.messages.entries()) {
    const e = openaiImages(m, i, c.images, bad);
    if (e) return e;
  }
  const turns = openaiToolTurns(body.messages, c, bad);
  if (turns) return turns;
  const users = body.messages.filter((m) => m.role === 'user');
  const stop = body.stop == null ? [] : Array.isArray(body.stop) ? body.stop : [body.stop];
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? null;
  const callText = (m) => (m.tool_calls ?? []).map((t) => `${t.function?.name ?? ''} ${t.function?.arguments ?? ''}`).join(' ');
  return {
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    input: {
      lastUserText: users.length ? textOfParts(users.at(-1).content) : '',
      allText: body.messages.map((m) => [textOfParts(m.content), callText(m)].filter(Boolean).join(' ')).join(' '),
      stop,
      maxTokens,
    },
    conversation: c,
  };
}

const ANTHROPIC_FIELDS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k',
  'metadata', 'tools', 'tool_choice', 'thinking', 'service_tier', 'container', 'mcp_servers', 'context_management',
]);

/** Text of a tool_result block's content (a string or text blocks). */
function anthropicResultText(content) {
  return typeof content === 'string' ? content : textOfParts(content);
}

const ANTHROPIC_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const ANTHROPIC_DOCS = 'Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking';

/** What the API refuses in an image block's source (null: nothing). */
function anthropicImageProblem(b, where) {
  const s = b.source;
  if (s?.type === 'base64') {
    if (!ANTHROPIC_IMAGE_TYPES.includes(s.media_type)) {
      return `${where}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
    }
    if (typeof s.data !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s.data)) return `${where}.image.source.base64.data: The image data is not valid base64`;
    for (const k of Object.keys(s)) if (!['type', 'media_type', 'data'].includes(k)) return `${where}.image.source.base64.${k}: Extra inputs are not permitted`;
    return null;
  }
  if (s?.type === 'url') {
    if (typeof s.url !== 'string') return `${where}.image.source.url.url: Field required`;
    if (!/^https?:\/\//.test(s.url)) return `${where}.image.source.url.url: Only HTTP and HTTPS URLs are supported`;
    for (const k of Object.keys(s)) if (!['type', 'url'].includes(k)) return `${where}.image.source.url.${k}: Extra inputs are not permitted`;
    return null;
  }
  return `${where}.image.source: Input tag '${s?.type}' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'`;
}

/**
 * The shape checks of an Anthropic body beyond the turns, as the API words them: tools with
 * an object input_schema, tool_choice only with tools, content blocks (non-empty text, image
 * sources, tool_use ids), thinking's budget and what it cannot go with.
 */
function anthropicShapeProblem(body) {
  const tools = body.tools ?? [];
  if (!Array.isArray(tools)) return 'tools: Input should be a valid list';
  for (const [i, t] of tools.entries()) {
    if (typeof t?.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(t.name)) return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
    const schema = t.input_schema;
    if (schema === undefined) return `tools.${i}.custom.input_schema: Field required`;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return `tools.${i}.custom.input_schema: Input should be a valid dictionary`;
    if (schema.type !== 'object') return `tools.${i}.custom.input_schema.type: Input should be 'object'`;
  }
  const tc = body.tool_choice;
  if (tc !== undefined) {
    if (!tools.length) return 'tool_choice may only be specified while providing tools.';
    if (!['auto', 'any', 'tool', 'none'].includes(tc?.type)) {
      return `tool_choice: Input tag '${tc?.type}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`;
    }
    if (tc.type === 'tool' && typeof tc.name !== 'string') return 'tool_choice.tool.name: Field required';
    if (tc.type === 'none' && 'disable_parallel_tool_use' in tc) return 'tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted';
  }
  for (const [i, m] of body.messages.entries()) {
    const final = i === body.messages.length - 1 && m.role === 'assistant';
    if (typeof m.content === 'string') {
      if (!m.content && !final) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
      continue;
    }
    if (!Array.isArray(m.content)) return `messages.${i}.content: Input should be a valid string or list`;
    if (!m.content.length && !final) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    for (const [j, b] of m.content.entries()) {
      const where = `messages.${i}.content.${j}`;
      if (b?.type === 'text' && (typeof b.text !== 'string' || !b.text)) return 'messages: text content blocks must be non-empty';
      if (b?.type === 'image') {
        if (m.role !== 'user') return `${where}: Image blocks are only supported in user messages`;
        const p = anthropicImageProblem(b, where);
        if (p) return p;
      }
      if (b?.type === 'tool_use') {
        if (m.role !== 'assistant') return `${where}: tool_use blocks are only supported in assistant messages`;
        if (typeof b.id !== 'string' || !/^[a-zA-Z0-9_-]+$/.test(b.id)) return `${where}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
        if (b.input === null || typeof b.input !== 'object' || Array.isArray(b.input)) return `${where}.tool_use.input: Input should be a valid dictionary`;
      }
      if (b?.type === 'tool_result' && m.role !== 'user') return `${where}: tool_result blocks are only supported in user messages`;
    }
  }
  const th = body.thinking;
  if (th !== undefined && th?.type === 'enabled') {
    if (!Number.isInteger(th.budget_tokens) || th.budget_tokens < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (body.max_tokens <= th.budget_tokens) return `\`max_tokens\` must be greater than \`thinking.budget_tokens\`. ${ANTHROPIC_DOCS}#max-tokens-and-context-window-size`;
    if (body.temperature !== undefined && body.temperature !== 1) return `\`temperature\` may only be set to 1 when thinking is enabled. ${ANTHROPIC_DOCS}#feature-compatibility`;
    if (tc?.type === 'any' || tc?.type === 'tool') return 'Thinking may not be enabled when tool_choice forces tool use.';
  }
  return null;
}

/**
 * The conversation of an Anthropic body, checked as the API does: the tool_use blocks of an
 * assistant turn are answered by tool_result blocks in the very next user turn, and no
 * tool_result names a tool_use that turn did not make.
 */
function anthropicConversation(body, bad) {
  const c = emptyConversation();
  for (const t of body.tools ?? []) if (t?.name) c.tools.push({ name: t.name, parameters: t.input_schema ?? { type: 'object' } });
  const tc = body.tool_choice;
  if (tc) {
    c.toolChoice = tc.type === 'any' ? 'required' : tc.type === 'tool' ? { name: tc.name } : tc.type === 'none' ? 'none' : 'auto';
    if (tc.disable_parallel_tool_use === true) c.parallel = false;
  }
  const blocks = (m) => (Array.isArray(m.content) ? m.content : []);
  let calls = new Map(); // the previous assistant turn's tool_use: id -> name
  for (const [i, m] of body.messages.entries()) {
    if (m.role === 'user') {
      const results = blocks(m).filter((b) => b?.type === 'tool_result');
      for (const [j, b] of blocks(m).entries()) {
        if (b?.type === 'tool_result' && !calls.has(b.tool_use_id)) {
          return bad(
            `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
          );
        }
        if (b?.type === 'image') {
          const s = b.source ?? {};
          c.images.push(s.type === 'url' ? { mediaType: imageMediaType(s.url) ?? 'application/octet-stream', source: 'url' } : { mediaType: s.media_type, source: 'data' });
        }
      }
      const missing = [...calls.keys()].filter((id) => !results.some((b) => b.tool_use_id === id));
      if (missing.length) {
        return bad(
          `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
      c.lastTurn = results.length && !blocks(m).some((b) => b?.type === 'text') ? 'tool' : 'user';
      c.toolResults = results.map((b) => ({ id: b.tool_use_id, name: calls.get(b.tool_use_id), content: anthropicResultText(b.content) }));
      calls = new Map();
    } else {
      if (calls.size) {
        return bad(
          `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${[...calls.keys()].join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
      calls = new Map(blocks(m).filter((b) => b?.type === 'tool_use').map((b) => [b.id, b.name]));
    }
  }
  if (body.messages.at(-1).role === 'assistant') {
    c.lastTurn = 'user';
    c.toolResults = [];
  }
  return { conversation: c };
}

/** Validates an Anthropic Messages body, as strictly as the real API (extra fields are 400). */
export function parseAnthropic(body) {
  const bad = (message) => ({ error: { status: 400, message } });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad('Input should be a valid dictionary');
  for (const k of Object.keys(body)) if (!ANTHROPIC_FIELDS.has(k)) return bad(`${k}: Extra inputs are not permitted`);
  if (typeof body.model !== 'string') return bad('model: Field required');
  if (body.max_tokens === undefined) return bad('max_tokens: Field required');
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) return bad('max_tokens: Input should be a valid integer greater than or equal to 1');
  if (!Array.isArray(body.messages)) return bad('messages: Field required');
  if (body.messages.length === 0) return bad('messages: at least one message is required');
  for (const [i, m] of body.messages.entries()) {
    if (m?.role !== 'user' && m?.role !== 'assistant') {
      return bad(
        m?.role === 'system'
          ? 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.'
          : `messages.${i}.role: Input should be 'user' or 'assistant'`,
      );
    }
  }
  if (body.stop_sequences !== undefined && !Array.isArray(body.stop_sequences)) return bad('stop_sequences: Input should be a valid list');
  const shape = anthropicShapeProblem(body);
  if (shape) return bad(shape);
  const conv = anthropicConversation(body, bad);
  if (conv.error) return conv;
  const toolBlocks = body.messages.some((m) => Array.isArray(m.content) && m.content.some((b) => b?.type === 'tool_use' || b?.type === 'tool_result'));
  if (toolBlocks && !body.tools?.length) return bad('Requests which include `tool_use` or `tool_result` blocks must define tools.');
  const users = body.messages.filter((m) => m.role === 'user' && (typeof m.content === 'string' || m.content?.some?.((b) => b?.type === 'text')));
  const blockText = (m) =>
    (Array.isArray(m.content) ? m.content : [])
      .map((b) => (b?.type === 'tool_use' ? `${b.name} ${JSON.stringify(b.input ?? {})}` : b?.type === 'tool_result' ? anthropicResultText(b.content) : ''))
      .filter(Boolean)
      .join(' ');
  return {
    model: body.model,
    stream: body.stream === true,
    input: {
      lastUserText: users.length ? textOfParts(users.at(-1).content) : '',
      allText: [textOfParts(body.system ?? ''), ...body.messages.map((m) => [textOfParts(m.content), blockText(m)].filter(Boolean).join(' '))].join(' '),
      stop: body.stop_sequences ?? [],
      maxTokens: body.max_tokens,
    },
    conversation: conv.conversation,
  };
}

const GOOGLE_FIELDS = new Map(
  [
    ['contents'], ['systemInstruction', 'system_instruction'], ['generationConfig', 'generation_config'],
    ['safetySettings', 'safety_settings'], ['tools'], ['toolConfig', 'tool_config'], ['cachedContent', 'cached_content'],
    ['labels'],
  ].flatMap((names) => names.map((n) => [n, names[0]])),
);

// The Schema fields Gemini knows (camelCase and snake_case); any other key is a 400.
const GOOGLE_SCHEMA_FIELDS = new Set(
  [
    'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required', 'minProperties', 'maxProperties',
    'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering', 'default', 'items', 'minimum', 'maximum',
  ].flatMap((k) => [k, k.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)]),
);

// Gemini's Type enum; proto JSON takes its names in any case.
const GOOGLE_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

/**
 * The first thing Gemini's Schema rejects, as its message (null: none): a key it does not
 * know (`$ref`), a type that is no Type name (a JSON Schema type array), an enum value that
 * is no string, `properties` on a schema that is not of type OBJECT.
 */
function googleSchemaProblem(schema, where) {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return null;
  for (const [k, v] of Object.entries(schema)) {
    if (!GOOGLE_SCHEMA_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}" at '${where}': Cannot find field.`;
    if (k === 'type' && (typeof v !== 'string' || !GOOGLE_TYPES.has(v.toLowerCase()))) {
      return `Invalid JSON payload received. Invalid value at '${where}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ${JSON.stringify(v)}`;
    }
    if (k === 'enum') {
      const i = (Array.isArray(v) ? v : [v]).findIndex((x) => typeof x !== 'string');
      if (i >= 0) return `Invalid JSON payload received. Invalid value at '${where}.enum[${i}]' (TYPE_STRING), ${JSON.stringify(v[i])}`;
    }
    if (k === 'properties') {
      if (String(schema.type ?? '').toLowerCase() !== 'object') return `* GenerateContentRequest.${where}.properties: only allowed for OBJECT type\n`;
      for (const [name, s] of Object.entries(v ?? {})) {
        const p = googleSchemaProblem(s, `${where}.properties[${JSON.stringify(name)}].value`);
        if (p) return p;
      }
    } else if (k === 'items') {
      const p = googleSchemaProblem(v, `${where}.items`);
      if (p) return p;
    } else if (k === 'anyOf' || k === 'any_of') {
      for (const [i, s] of (v ?? []).entries()) {
        const p = googleSchemaProblem(s, `${where}.any_of[${i}]`);
        if (p) return p;
      }
    }
  }
  return null;
}

const GOOGLE_FUNCTION_NAME = /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/;
// The image types Gemini reads.
const GOOGLE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif']);

/**
 * The conversation of a Gemini body, checked as the API does: function names Gemini takes,
 * user and model turns alternating, a functionResponse turn right after the functionCall turn
 * it answers with as many parts as it made calls, each naming one of those calls' functions,
 * call arguments as objects, image types Gemini reads; Gemini 3 models also want each
 * replayed functionCall part to carry its thoughtSignature.
 */
function googleConversation(b, model, bad) {
  const c = emptyConversation();
  for (const [i, t] of (b.tools ?? []).entries()) {
    const decls = t?.functionDeclarations ?? t?.function_declarations ?? [];
    for (const [j, d] of decls.entries()) {
      if (!GOOGLE_FUNCTION_NAME.test(d?.name ?? '')) {
        return bad(
          `* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.) or dashes (-), with a maximum length of 64.\n`,
        );
      }
      const p = googleSchemaProblem(d?.parameters, `tools[${i}].function_declarations[${j}].parameters`);
      if (p) return bad(p);
      c.tools.push({ name: d.name, parameters: d.parameters ?? { type: 'object' } });
    }
  }
  const fcc = (b.toolConfig ?? {}).functionCallingConfig ?? (b.toolConfig ?? {}).function_calling_config;
  if (fcc) {
    const allowed = fcc.allowedFunctionNames ?? fcc.allowed_function_names ?? [];
    if (fcc.mode === 'NONE') c.toolChoice = 'none';
    else if (fcc.mode === 'ANY') c.toolChoice = allowed.length === 1 ? { name: allowed[0] } : 'required';
  }
  const gc = b.generationConfig ?? {};
  const mime = gc.responseMimeType ?? gc.response_mime_type;
  const schema = gc.responseSchema ?? gc.response_schema;
  if (schema) {
    const p = googleSchemaProblem(schema, 'generation_config.response_schema');
    if (p) return bad(p);
  }
  if (mime === 'application/json') c.format = schema ? { type: 'json_schema', schema } : { type: 'json_object' };
  const parts = (x) => x?.parts ?? [];
  let calls = []; // names of the previous model turn's functionCall parts
  for (const [i, content] of b.contents.entries()) {
    const role = content.role ?? 'user';
    if (i > 0 && (b.contents[i - 1].role ?? 'user') === role) return bad('Please ensure that multiturn requests alternate between user and model.');
    const responses = parts(content).filter((p) => p?.functionResponse ?? p?.function_response);
    if (responses.length) {
      if (!calls.length) return bad('Please ensure that function response turn comes immediately after a function call turn.');
      if (responses.length !== calls.length) {
        return bad('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
      }
    }
    for (const [j, p] of parts(content).entries()) {
      const r = p?.functionResponse ?? p?.function_response;
      if (r && !r.name) return bad(`* GenerateContentRequest.contents[${i}].parts[${j}].function_response.name: Name cannot be empty.\n`);
      if (r && !calls.includes(r.name)) return bad('Request contains an invalid argument.');
      const call = p?.functionCall ?? p?.function_call;
      if (call && /^gemini-3[.-]/.test(model ?? '') && !(p.thoughtSignature ?? p.thought_signature)) {
        return bad(`Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${call.name}\` , position ${j + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
      }
      if (call && call.args !== undefined && (call.args === null || typeof call.args !== 'object' || Array.isArray(call.args))) {
        return bad(`Invalid JSON payload received. Invalid value at 'contents[${i}].parts[${j}].function_call.args' (type.googleapis.com/google.protobuf.Struct), ${JSON.stringify(call.args)}`);
      }
      const d = p?.inlineData ?? p?.inline_data;
      const f = p?.fileData ?? p?.file_data;
      const image = d ?? f;
      if (image && !GOOGLE_IMAGE_TYPES.has(image.mimeType ?? image.mime_type)) return bad(`Unsupported MIME type: ${image.mimeType ?? image.mime_type}`);
      if (d) c.images.push({ mediaType: d.mimeType ?? d.mime_type, source: 'data' });
      if (f) c.images.push({ mediaType: f.mimeType ?? f.mime_type, source: 'url' });
    }
    c.lastTurn = responses.length && !parts(content).some((p) => typeof p?.text === 'string') ? 'tool' : 'user';
    c.toolResults = responses.map((p) => {
      const r = p.functionResponse ?? p.function_response;
      const keys = Object.keys(r.response ?? {});
      const content = keys.length === 1 && typeof r.response.content === 'string' ? r.response.content : JSON.stringify(r.response ?? {});
      return { id: r.id ?? null, name: r.name, content };
    });
    calls = role === 'model' ? parts(content).filter((p) => p?.functionCall ?? p?.function_call).map((p) => (p.functionCall ?? p.function_call).name) : [];
  }
  if ((b.contents.at(-1).role ?? 'user') === 'model') {
    c.lastTurn = 'user';
    c.toolResults = [];
  }
  return { conversation: c };
}

/** Validates a Gemini GenerateContentRequest (camelCase or snake_case, as proto JSON allows). */
export function parseGoogle(body, model) {
  const bad = (message) => ({ error: { status: 400, message } });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad('Invalid JSON payload received. Expected an object.');
  const b = {};
  for (const [k, v] of Object.entries(body)) {
    if (!GOOGLE_FIELDS.has(k)) return bad(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
    b[GOOGLE_FIELDS.get(k)] = v;
  }
  if (!Array.isArray(b.contents) || b.contents.length === 0) return bad('* GenerateContentRequest.contents: contents is not specified\n');
  for (const c of b.contents) {
    if (c?.role !== undefined && c.role !== 'user' && c.role !== 'model') return bad('Please use a valid role: user, model.');
    if (!Array.isArray(c?.parts) || c.parts.length === 0) return bad('* GenerateContentRequest.contents[].parts: contents.parts must not be empty.\n');
  }
  const conv = googleConversation(b, model, bad);
  if (conv.error) return conv;
  const partText = (p) => {
    if (typeof p?.text === 'string') return p.text;
    const call = p?.functionCall ?? p?.function_call;
    if (call) return `${call.name} ${JSON.stringify(call.args ?? {})}`;
    const r = p?.functionResponse ?? p?.function_response;
    return r ? JSON.stringify(r.response ?? {}) : '';
  };
  const textOf = (c) => (c?.parts ?? []).filter((p) => typeof p?.text === 'string').map((p) => p.text).join(' ');
  const allOf = (c) => (c?.parts ?? []).map(partText).join(' ');
  const gc = b.generationConfig ?? {};
  const users = b.contents.filter((c) => (c.role ?? 'user') === 'user' && c.parts.some((p) => typeof p?.text === 'string'));
  return {
    model,
    input: {
      lastUserText: users.length ? textOf(users.at(-1)) : '',
      allText: [textOf(b.systemInstruction), ...b.contents.map(allOf)].join(' '),
      stop: gc.stopSequences ?? gc.stop_sequences ?? [],
      maxTokens: gc.maxOutputTokens ?? gc.max_output_tokens ?? null,
    },
    conversation: conv.conversation,
  };
}

// ---- OpenAI / Kimi wire format ------------------------------------------------------------

export function openaiHeaders(provider) {
  const h = {
    'x-request-id': `req_${hex(16)}`,
    'openai-processing-ms': String(120 + Math.floor(Math.random() * 300)),
    'openai-version': '2020-10-01',
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-remaining-requests': '9999',
    'x-ratelimit-limit-tokens': '10000000',
    'x-ratelimit-remaining-tokens': '9999000',
    'x-ratelimit-reset-requests': '6ms',
    'x-ratelimit-reset-tokens': '0s',
  };
  if (provider === 'kimi') {
    return { 'x-request-id': h['x-request-id'], 'msh-request-id': hex(12), 'msh-trace-mode': 'on' };
  }
  return { ...h, 'openai-organization': 'user-nyxgatee2emock', 'openai-project': 'proj_nyxgateMock' };
}

const OPENAI_FINISH = { stop: 'stop', stop_sequence: 'stop', length: 'length', tool_calls: 'tool_calls' };

/**
 * OpenAI always sends both detail objects; Kimi reports cached tokens at the top level and in
 * prompt_tokens_details, and reasoning tokens only when there are some.
 */
function openaiUsage(g, provider = 'openai') {
  const u = { prompt_tokens: g.promptTokens, completion_tokens: g.completionTokens, total_tokens: g.promptTokens + g.completionTokens };
  const cached = g.cachedTokens ?? 0;
  const reasoning = g.reasoningTokens ?? 0;
  if (provider === 'kimi') {
    u.cached_tokens = cached;
    u.prompt_tokens_details = { cached_tokens: cached };
    if (reasoning) u.completion_tokens_details = { reasoning_tokens: reasoning };
    return u;
  }
  u.prompt_tokens_details = { cached_tokens: cached, audio_tokens: 0 };
  u.completion_tokens_details = { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 };
  return u;
}

/** OpenAI's call ids are "call_" + 24 characters; Kimi's are "<name>:<index>". */
function openaiToolCallId(provider, g, i) {
  return provider === 'kimi' ? `${g.toolCalls[i].name}:${i}` : toolCallId(g, i, 'call_', 24);
}

export function openaiCompletion(model, g, provider = 'openai') {
  const calls = g.toolCalls ?? [];
  const message = { role: 'assistant', content: calls.length && !g.text ? null : g.text, refusal: null, annotations: [] };
  if (calls.length) {
    message.tool_calls = calls.map((t, i) => ({ id: openaiToolCallId(provider, g, i), type: 'function', function: { name: t.name, arguments: t.arguments } }));
  }
  return {
    id: `chatcmpl-${base62(29)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: OPENAI_FINISH[g.finish] }],
    usage: openaiUsage(g, provider),
    service_tier: 'default',
    system_fingerprint: 'fp_e2emock01',
  };
}

/**
 * The SSE events of a streamed completion, each {data, content} (content: carries answer
 * text or a tool call piece). `data` is the full `data: …\n\n` frame. A tool call comes as
 * {index, id, type, function: {name, arguments: ""}} and then argument fragments of about 8
 * characters. Kimi also puts the usage into the finishing choice.
 */
export function openaiStreamEvents(model, g, pieces, includeUsage, provider = 'openai') {
  const id = `chatcmpl-${base62(29)}`;
  const created = Math.floor(Date.now() / 1000);
  const frame = (choices, extra = {}) => {
    const chunk = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: 'fp_e2emock01', choices, ...extra };
    if (includeUsage && !('usage' in extra)) chunk.usage = null;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  const calls = g.toolCalls ?? [];
  const delta = (d) => ({ index: 0, delta: d, logprobs: null, finish_reason: null });
  const events = [{ data: frame([delta({ role: 'assistant', content: calls.length && !g.text ? null : '', refusal: null })]), content: false }];
  for (const p of calls.length && !g.text ? [] : pieces) {
    if (p) events.push({ data: frame([delta({ content: p })]), content: true });
  }
  for (const [i, t] of calls.entries()) {
    const head = { index: i, id: openaiToolCallId(provider, g, i), type: 'function', function: { name: t.name, arguments: '' } };
    events.push({ data: frame([delta({ tool_calls: [head] })]), content: true });
    for (const f of argumentFragments(t.arguments)) {
      events.push({ data: frame([delta({ tool_calls: [{ index: i, function: { arguments: f } }] })]), content: true });
    }
  }
  const last = { index: 0, delta: {}, logprobs: null, finish_reason: OPENAI_FINISH[g.finish] };
  if (provider === 'kimi') last.usage = openaiUsage(g, provider);
  events.push({ data: frame([last]), content: false });
  if (includeUsage) events.push({ data: frame([], { usage: openaiUsage(g, provider) }), content: false });
  events.push({ data: 'data: [DONE]\n\n', content: false });
  return events;
}

export function openaiError(message, type, code = null, param = null) {
  return { error: { message, type, param, code } };
}

// ---- Anthropic wire format ----------------------------------------------------------------

export function anthropicHeaders() {
  return {
    'request-id': `req_${base62(24)}`,
    'anthropic-organization-id': 'b2b1e2e0-0000-4000-8000-00000000e2e0',
    'anthropic-ratelimit-requests-limit': '4000',
    'anthropic-ratelimit-requests-remaining': '3999',
    'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

const ANTHROPIC_STOP = { stop: 'end_turn', stop_sequence: 'stop_sequence', length: 'max_tokens', tool_calls: 'tool_use' };

/** Anthropic counts cache reads apart from input_tokens and reports no reasoning count. */
function anthropicUsage(g, outputTokens = g.completionTokens - (g.reasoningTokens ?? 0)) {
  const cached = g.cachedTokens ?? 0;
  return {
    input_tokens: g.promptTokens - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

const anthropicToolId = (g, i) => toolCallId(g, i, 'toolu_01', 22);

export function anthropicMessage(model, g) {
  const content = g.text ? [{ type: 'text', text: g.text }] : [];
  for (const [i, t] of (g.toolCalls ?? []).entries()) content.push({ type: 'tool_use', id: anthropicToolId(g, i), name: t.name, input: t.input });
  return {
    id: `msg_01${base62(22)}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: ANTHROPIC_STOP[g.finish],
    stop_sequence: g.stopSequence,
    usage: anthropicUsage(g),
  };
}

/** A text block (unless the answer is only tool calls), then a tool_use block per call. */
export function anthropicStreamEvents(model, g, pieces) {
  const ev = (type, obj, content = false) => ({ data: `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`, content });
  const start = anthropicMessage(model, { ...g, text: '', toolCalls: [] });
  start.usage = anthropicUsage(g, 1);
  start.stop_reason = null;
  start.stop_sequence = null;
  const calls = g.toolCalls ?? [];
  const events = [ev('message_start', { message: start })];
  let index = 0;
  if (g.text || !calls.length) {
    events.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }), ev('ping', {}));
    for (const p of pieces) {
      if (p) events.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: p } }, true));
    }
    events.push(ev('content_block_stop', { index }));
    index += 1;
  }
  for (const [i, t] of calls.entries()) {
    events.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: anthropicToolId(g, i), name: t.name, input: {} } }, true));
    if (index === 0) events.push(ev('ping', {}));
    for (const f of argumentFragments(t.arguments)) events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: f } }, true));
    events.push(ev('content_block_stop', { index }));
    index += 1;
  }
  events.push(
    ev('message_delta', {
      delta: { stop_reason: ANTHROPIC_STOP[g.finish], stop_sequence: g.stopSequence },
      usage: { output_tokens: g.completionTokens - (g.reasoningTokens ?? 0) },
    }),
  );
  events.push(ev('message_stop', {}));
  return events;
}

export function anthropicErrorBody(type, message) {
  return { type: 'error', error: { type, message }, request_id: `req_${base62(24)}` };
}

// ---- Google wire format -------------------------------------------------------------------

export function googleHeaders() {
  return {
    vary: 'Origin, X-Origin, Referer',
    server: 'scaffolding on HTTPServer2',
    'x-xss-protection': '0',
    'x-frame-options': 'SAMEORIGIN',
    'x-content-type-options': 'nosniff',
    'server-timing': `gfet4t7; dur=${200 + Math.floor(Math.random() * 400)}`,
  };
}

const GOOGLE_FINISH = { stop: 'STOP', stop_sequence: 'STOP', length: 'MAX_TOKENS', tool_calls: 'STOP' };

/** Gemini's candidatesTokenCount leaves the thoughts out; the total has both. */
function googleUsage(g, { final }) {
  const u = { promptTokenCount: g.promptTokens, totalTokenCount: g.promptTokens };
  const reasoning = g.reasoningTokens ?? 0;
  if (final) {
    u.candidatesTokenCount = g.completionTokens - reasoning;
    u.totalTokenCount = g.promptTokens + g.completionTokens;
    if (reasoning) u.thoughtsTokenCount = reasoning;
  }
  if (g.cachedTokens) {
    u.cachedContentTokenCount = g.cachedTokens;
    u.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: g.cachedTokens }];
  }
  u.promptTokensDetails = [{ modality: 'TEXT', tokenCount: g.promptTokens }];
  return u;
}

const googleCallParts = (g) => (g.toolCalls ?? []).map((t) => ({ functionCall: { name: t.name, args: t.input } }));

export function googleResponse(model, g, responseId = base62(22)) {
  const calls = googleCallParts(g);
  return {
    candidates: [
      {
        content: { parts: [...(g.text || !calls.length ? [{ text: g.text }] : []), ...calls], role: 'model' },
        finishReason: GOOGLE_FINISH[g.finish],
        index: 0,
      },
    ],
    usageMetadata: googleUsage(g, { final: true }),
    modelVersion: model,
    responseId,
  };
}

/**
 * Gemini stream records: one GenerateContentResponse per text piece, the last one finished;
 * function calls come whole in the last record.
 */
export function googleStreamRecords(model, g, pieces) {
  const responseId = base62(22);
  const calls = googleCallParts(g);
  const nonEmpty = g.text || !calls.length ? pieces.filter(Boolean) : [];
  const list = nonEmpty.length ? nonEmpty.map((p) => [{ text: p }]) : calls.length ? [] : [[{ text: '' }]];
  if (calls.length) list.push(calls);
  return list.map((parts, i) => {
    const final = i === list.length - 1;
    const candidate = { content: { parts, role: 'model' }, index: 0 };
    if (final) candidate.finishReason = GOOGLE_FINISH[g.finish];
    return { candidates: [candidate], usageMetadata: googleUsage(g, { final }), modelVersion: model, responseId };
  });
}

export function googleStreamEvents(model, g, pieces) {
  return googleStreamRecords(model, g, pieces).map((r) => ({
    data: `data: ${JSON.stringify(r)}\r\n\r\n`,
    content: r.candidates[0].content.parts.some((p) => p.text || p.functionCall),
  }));
}

export function googleErrorBody(code, status, message, details) {
  const error = { code, message, status };
  if (details) error.details = details;
  return { error };
}

export function googleErrorInfo(reason, extra = {}) {
  return {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason,
    domain: 'googleapis.com',
    metadata: { service: 'generativelanguage.googleapis.com', ...extra },
  };
}

export const newRequestId = () => randomUUID();
