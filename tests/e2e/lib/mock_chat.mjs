// The chat endpoints of the mock providers (see mock_providers.mjs): request validation,
// the deterministic answer, and each provider's wire format for answers, stream events and
// errors. Pure functions, no I/O: mock_providers.mjs does the HTTP.
//
// The answer is "echo: " + the text of the last user message, cut at the first stop
// sequence the request names and then at its output-token limit; a token is a
// whitespace-separated word, both for the prompt (every text of the request, system
// included) and for the answer.
import { randomBytes, randomUUID } from 'node:crypto';

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

/** The answer to a request: text, why it ended, token counts. */
export function generate({ lastUserText, allText, stop = [], maxTokens = null }) {
  let text = ECHO_PREFIX + lastUserText;
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
  const promptTokens = countWords(allText);
  const completionTokens = countWords(text);
  return { text, finish, stopSequence, promptTokens, completionTokens };
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

/**
 * Validates an OpenAI/Kimi chat body. Returns {error: {status, message, param}} or
 * {model, stream, includeUsage, input: {lastUserText, allText, stop, maxTokens}}.
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
  const users = body.messages.filter((m) => m.role === 'user');
  const stop = body.stop == null ? [] : Array.isArray(body.stop) ? body.stop : [body.stop];
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? null;
  return {
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    input: {
      lastUserText: users.length ? textOfParts(users.at(-1).content) : '',
      allText: body.messages.map((m) => textOfParts(m.content)).join(' '),
      stop,
      maxTokens,
    },
  };
}

const ANTHROPIC_FIELDS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k',
  'metadata', 'tools', 'tool_choice', 'thinking', 'service_tier', 'container', 'mcp_servers', 'context_management',
]);

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
  const users = body.messages.filter((m) => m.role === 'user');
  return {
    model: body.model,
    stream: body.stream === true,
    input: {
      lastUserText: users.length ? textOfParts(users.at(-1).content) : '',
      allText: [textOfParts(body.system ?? ''), ...body.messages.map((m) => textOfParts(m.content))].join(' '),
      stop: body.stop_sequences ?? [],
      maxTokens: body.max_tokens,
    },
  };
}

const GOOGLE_FIELDS = new Map(
  [
    ['contents'], ['systemInstruction', 'system_instruction'], ['generationConfig', 'generation_config'],
    ['safetySettings', 'safety_settings'], ['tools'], ['toolConfig', 'tool_config'], ['cachedContent', 'cached_content'],
    ['labels'],
  ].flatMap((names) => names.map((n) => [n, names[0]])),
);

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
  const textOf = (c) => (c?.parts ?? []).map((p) => p?.text ?? '').join(' ');
  const gc = b.generationConfig ?? {};
  const users = b.contents.filter((c) => (c.role ?? 'user') === 'user');
  return {
    model,
    input: {
      lastUserText: users.length ? textOf(users.at(-1)) : '',
      allText: [textOf(b.systemInstruction), ...b.contents.map(textOf)].join(' '),
      stop: gc.stopSequences ?? gc.stop_sequences ?? [],
      maxTokens: gc.maxOutputTokens ?? gc.max_output_tokens ?? null,
    },
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

const OPENAI_FINISH = { stop: 'stop', stop_sequence: 'stop', length: 'length' };

function openaiUsage(g) {
  return {
    prompt_tokens: g.promptTokens,
    completion_tokens: g.completionTokens,
    total_tokens: g.promptTokens + g.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export function openaiCompletion(model, g) {
  return {
    id: `chatcmpl-${base62(29)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: g.text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: OPENAI_FINISH[g.finish],
      },
    ],
    usage: openaiUsage(g),
    service_tier: 'default',
    system_fingerprint: 'fp_e2emock01',
  };
}

/**
 * The SSE events of a streamed completion, each {data, content} (content: carries answer
 * text). `data` is the full `data: …\n\n` frame.
 */
export function openaiStreamEvents(model, g, pieces, includeUsage) {
  const id = `chatcmpl-${base62(29)}`;
  const created = Math.floor(Date.now() / 1000);
  const frame = (choices, extra = {}) => {
    const chunk = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: 'fp_e2emock01', choices, ...extra };
    if (includeUsage && !('usage' in extra)) chunk.usage = null;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  const events = [{ data: frame([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]), content: false }];
  for (const p of pieces) {
    if (p) events.push({ data: frame([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]), content: true });
  }
  events.push({ data: frame([{ index: 0, delta: {}, logprobs: null, finish_reason: OPENAI_FINISH[g.finish] }]), content: false });
  if (includeUsage) events.push({ data: frame([], { usage: openaiUsage(g) }), content: false });
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

const ANTHROPIC_STOP = { stop: 'end_turn', stop_sequence: 'stop_sequence', length: 'max_tokens' };

function anthropicUsage(inputTokens, outputTokens) {
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

export function anthropicMessage(model, g) {
  return {
    id: `msg_01${base62(22)}`,
    type: 'message',
    role: 'assistant',
    model,
    content: g.text ? [{ type: 'text', text: g.text }] : [],
    stop_reason: ANTHROPIC_STOP[g.finish],
    stop_sequence: g.stopSequence,
    usage: anthropicUsage(g.promptTokens, g.completionTokens),
  };
}

export function anthropicStreamEvents(model, g, pieces) {
  const ev = (type, obj, content = false) => ({ data: `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`, content });
  const start = anthropicMessage(model, { ...g, text: '', completionTokens: 1 });
  start.stop_reason = null;
  start.stop_sequence = null;
  const events = [
    ev('message_start', { message: start }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', {}),
  ];
  for (const p of pieces) {
    if (p) events.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } }, true));
  }
  events.push(ev('content_block_stop', { index: 0 }));
  events.push(
    ev('message_delta', {
      delta: { stop_reason: ANTHROPIC_STOP[g.finish], stop_sequence: g.stopSequence },
      usage: { output_tokens: g.completionTokens },
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

const GOOGLE_FINISH = { stop: 'STOP', stop_sequence: 'STOP', length: 'MAX_TOKENS' };

function googleUsage(g, { final }) {
  const u = { promptTokenCount: g.promptTokens, totalTokenCount: g.promptTokens };
  if (final) {
    u.candidatesTokenCount = g.completionTokens;
    u.totalTokenCount = g.promptTokens + g.completionTokens;
  }
  u.promptTokensDetails = [{ modality: 'TEXT', tokenCount: g.promptTokens }];
  return u;
}

export function googleResponse(model, g, responseId = base62(22)) {
  return {
    candidates: [
      {
        content: { parts: [{ text: g.text }], role: 'model' },
        finishReason: GOOGLE_FINISH[g.finish],
        index: 0,
      },
    ],
    usageMetadata: googleUsage(g, { final: true }),
    modelVersion: model,
    responseId,
  };
}

/** Gemini stream records: one GenerateContentResponse per piece, the last one finished. */
export function googleStreamRecords(model, g, pieces) {
  const responseId = base62(22);
  const nonEmpty = pieces.filter(Boolean);
  const list = nonEmpty.length ? nonEmpty : [''];
  return list.map((p, i) => {
    const final = i === list.length - 1;
    const candidate = { content: { parts: [{ text: p }], role: 'model' }, index: 0 };
    if (final) candidate.finishReason = GOOGLE_FINISH[g.finish];
    return { candidates: [candidate], usageMetadata: googleUsage(g, { final }), modelVersion: model, responseId };
  });
}

export function googleStreamEvents(model, g, pieces) {
  return googleStreamRecords(model, g, pieces).map((r) => ({
    data: `data: ${JSON.stringify(r)}\r\n\r\n`,
    content: Boolean(r.candidates[0].content.parts[0].text),
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
