// The embeddings endpoints of the mock providers (mock_providers.mjs routes them here after the
// key behaviours: "quota", "invalid", "exhaust", ... fail them as they fail chat calls).
//   POST /v1/embeddings (Bearer) → OpenAI: {object:"list", data:[{object:"embedding", index,
//        embedding}], model, usage:{prompt_tokens,total_tokens}}; embedding as floats, or with
//        encoding_format "base64" as the base64 of little-endian float32s; `dimensions` for the
//        text-embedding-3 models (others: 400); input a string, strings, or token arrays.
//        Kimi's keys get 404: Kimi has no embeddings API.
//   POST /v1beta/models/{model}:batchEmbedContents (x-goog-api-key) → Gemini:
//        {embeddings:[{values}]}, one per request; requests[].model must be "models/{model}";
//        outputDimensionality honoured; no usage (Gemini reports none).
// Vectors are deterministic: `embeddingVector(text, dims)` (a token array's text is its ids
// joined with ","), float32 values, so a test compares what arrives with what the mock made.
import { createHash } from 'node:crypto';

import { countWords, googleErrorBody, googleHeaders, openaiError, openaiHeaders } from './mock_chat.mjs';

/** Native sizes: text-embedding-3-small 1536, text-embedding-3-large 3072, Gemini 3072. */
export function defaultDimensions(model) {
  if (model.includes('3-large') || model.startsWith('gemini')) return 3072;
  return 1536;
}

/** The mock's vector for `text`: `dims` float32 values in [-1, 1] from SHA-256 of the text. */
export function embeddingVector(text, dims) {
  const out = [];
  for (let block = 0; out.length < dims; block += 1) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 4 <= digest.length && out.length < dims; i += 4) {
      const x = digest.readUInt32LE(i) / 2 ** 32;
      out.push(Math.fround(Math.round((x * 2 - 1) * 1e6) / 1e6));
    }
  }
  return out;
}

/** The base64 of `vector` as little-endian float32s (what OpenAI sends for encoding_format base64). */
export function vectorBase64(vector) {
  const buf = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

/** `vectorBase64` read back. */
export function decodeVectorBase64(text) {
  const buf = Buffer.from(text, 'base64');
  const out = [];
  for (let i = 0; i + 4 <= buf.length; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

const isTokens = (x) => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t) && t >= 0);

function openaiInvalid(provider, message, param = null, code = null, status = 400) {
  return { status, body: openaiError(message, 'invalid_request_error', code, param), headers: openaiHeaders(provider) };
}

/** OpenAI's checks of an embeddings body: {inputs: [text], tokens: n} or {failure}. */
export function parseOpenAIEmbeddings(provider, body) {
  const bad = (message, param = null) => ({ failure: openaiInvalid(provider, message, param) });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad('The request body must be a JSON object.');
  for (const k of Object.keys(body)) {
    if (!['model', 'input', 'encoding_format', 'dimensions', 'user'].includes(k)) return bad(`Unrecognized request argument supplied: ${k}`);
  }
  if (typeof body.model !== 'string' || !body.model) return bad('you must provide a model parameter');
  if (!body.model.startsWith('text-embedding-')) {
    return { failure: openaiInvalid(provider, `The model \`${body.model}\` does not exist or you do not have access to it.`, null, 'model_not_found', 404) };
  }
  const invalidInput = () => bad("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'input');
  let inputs;
  let tokens = 0;
  const { input } = body;
  if (typeof input === 'string') {
    if (!input) return invalidInput();
    inputs = [input];
  } else if (isTokens(input)) {
    inputs = [input.join(',')];
    tokens = input.length;
  } else if (Array.isArray(input) && input.length > 0 && input.length <= 2048 && input.every((x) => typeof x === 'string' && x)) {
    inputs = input;
  } else if (Array.isArray(input) && input.length > 0 && input.length <= 2048 && input.every(isTokens)) {
    inputs = input.map((t) => t.join(','));
    tokens = input.reduce((n, t) => n + t.length, 0);
  } else {
    return invalidInput();
  }
  const encoding = body.encoding_format ?? 'float';
  if (encoding !== 'float' && encoding !== 'base64') {
    return bad(`Invalid value for 'encoding_format': '${encoding}'. Supported values are: 'float' and 'base64'.`, 'encoding_format');
  }
  let dims = defaultDimensions(body.model);
  if (body.dimensions !== undefined && body.dimensions !== null) {
    if (!body.model.startsWith('text-embedding-3')) return bad('This model does not support specifying dimensions.', 'dimensions');
    if (!Number.isInteger(body.dimensions) || body.dimensions < 1 || body.dimensions > dims) {
      return bad(`Invalid value for 'dimensions' = ${body.dimensions}. Must be an integer between 1 and ${dims}.`, 'dimensions');
    }
    dims = body.dimensions;
  }
  const promptTokens = tokens || inputs.reduce((n, t) => n + Math.max(1, countWords(t)), 0);
  return { model: body.model, inputs, encoding, dims, promptTokens };
}

/** The OpenAI answer for a parsed request. */
export function openaiEmbeddings(provider, p) {
  const data = p.inputs.map((text, index) => {
    const v = embeddingVector(text, p.dims);
    return { object: 'embedding', index, embedding: p.encoding === 'base64' ? vectorBase64(v) : v };
  });
  return {
    status: 200,
    body: { object: 'list', data, model: p.model, usage: { prompt_tokens: p.promptTokens, total_tokens: p.promptTokens } },
    headers: openaiHeaders(provider),
  };
}

function googleInvalid(message) {
  return { status: 400, body: googleErrorBody(400, 'INVALID_ARGUMENT', message), headers: googleHeaders() };
}

/** Gemini's checks of a batchEmbedContents body: {inputs, dims} or {failure}. */
export function parseGoogleEmbeddings(body, model) {
  const bad = (message) => ({ failure: googleInvalid(message) });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad('Invalid JSON payload received. Expected an object.');
  for (const k of Object.keys(body)) {
    if (k !== 'requests') return bad(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
  }
  if (!model.startsWith('gemini-embedding') && !model.startsWith('text-embedding')) {
    return { failure: { status: 404, body: googleErrorBody(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for embedContent.`), headers: googleHeaders() } };
  }
  if (!Array.isArray(body.requests) || body.requests.length === 0) return bad('* BatchEmbedContentsRequest.requests: contents is not specified');
  if (body.requests.length > 100) return bad('* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch');
  const inputs = [];
  let dims = null;
  for (const [i, r] of body.requests.entries()) {
    for (const k of Object.keys(r ?? {})) {
      if (!['model', 'content', 'outputDimensionality', 'taskType', 'title'].includes(k)) {
        return bad(`Invalid JSON payload received. Unknown name "${k}" at 'requests[${i}]': Cannot find field.`);
      }
    }
    if (r.model !== `models/${model}`) {
      return bad(`Model name in the request (${r.model}) does not match the model name in the URL (models/${model}).`);
    }
    const parts = r.content?.parts;
    if (!Array.isArray(parts) || parts.length === 0 || !parts.every((p) => typeof p?.text === 'string')) {
      return bad(`* BatchEmbedContentsRequest.requests[${i}].content.parts: contents.parts must not be empty.`);
    }
    const text = parts.map((p) => p.text).join('');
    if (!text) return bad(`* BatchEmbedContentsRequest.requests[${i}].content: contents must not be empty.`);
    inputs.push(text);
    if (r.outputDimensionality !== undefined) {
      if (!Number.isInteger(r.outputDimensionality) || r.outputDimensionality < 1 || r.outputDimensionality > 3072) {
        return bad(`* BatchEmbedContentsRequest.requests[${i}].output_dimensionality: must be between 1 and 3072`);
      }
      dims = r.outputDimensionality;
    }
  }
  return { inputs, dims: dims ?? defaultDimensions(model) };
}

export function googleEmbeddings(p) {
  return { status: 200, body: { embeddings: p.inputs.map((text) => ({ values: embeddingVector(text, p.dims) })) }, headers: googleHeaders() };
}

/**
 * The answer to an embeddings call that passed the key behaviours, as {status, body, headers}:
 * `route` is mock_providers' route ({kind: 'openai'} or {kind: 'google', model}).
 */
export function embeddingsAnswer(provider, route, body) {
  if (provider === 'kimi') {
    return { status: 404, body: openaiError('Not found the model or Permission denied', 'resource_not_found_error'), headers: openaiHeaders(provider) };
  }
  const parsed = route.kind === 'google' ? parseGoogleEmbeddings(body, route.model) : parseOpenAIEmbeddings(provider, body);
  if (parsed.failure) return parsed.failure;
  return route.kind === 'google' ? googleEmbeddings(parsed) : openaiEmbeddings(provider, parsed);
}
