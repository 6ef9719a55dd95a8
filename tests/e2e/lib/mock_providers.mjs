// An HTTPS imitation of the upstream providers nyxgate calls: OpenAI, Kimi (OpenAI-compatible),
// Anthropic, Google Gemini and GitHub, on one port with one base URL for all of them. Its
// certificate is issued by a throwaway CA made with the `openssl` CLI, so nyxgate can verify it
// with `--tls.ca_file=<caFile>` (and Node clients with lib/ca_fetch.mjs).
//
// Key probes (what apiKeys.test calls). The provider follows from path and headers:
//   GET /v1/models      with x-api-key                 → Anthropic (needs anthropic-version)
//   GET /v1/models      with Authorization: Bearer     → OpenAI, or Kimi when the key says "kimi"
//   GET /v1beta/models  with x-goog-api-key (or ?key=) → Google
//   GET /user           with Authorization             → GitHub
// GitHub's REST API beyond the probe (Authorization: Bearer or token), as api.github.com answers:
//   GET /repos/{owner}/{repo}                  → the repository, or 404 Not Found
//   GET /repos/{owner}/{repo}/commits          → a page of commits, newest first (per_page 30 by
//   GET /repositories/{id}/commits               default, at most 100; page; since), with a
//        `Link` header (rel="prev", "next", "last", "first") whose URLs name the repository by
//        id, as GitHub's do; x-ratelimit-* headers on every answer
//   Repositories come from `githubRepos` / addGitHubRepo(); anything else is 404. A key with
//   "invalid" (or unknown) gets 401 Bad credentials, "ratelimit" 403 with
//   x-ratelimit-remaining: 0; configure({githubRateLimited: true}) rate-limits every GitHub
//   call, configure({githubLinkBase: url}) writes Link URLs on another origin.
// Chat, in each provider's wire format (formats and answers: mock_chat.mjs):
//   POST /v1/chat/completions  Bearer → OpenAI, or Kimi when the key says "kimi"/"moonshot";
//        chat.completion, or SSE chat.completion.chunk … data: [DONE], honouring
//        stream_options.include_usage (a last chunk with choices: [] and the usage)
//   POST /v1/messages  x-api-key (or Bearer, as @anthropic-ai/sdk 1.x sends it) and
//        anthropic-version (400 without) → Anthropic Message, or SSE message_start,
//        content_block_start, ping, content_block_delta…, content_block_stop, message_delta,
//        message_stop
//   POST /v1beta/models/{model}:generateContent | :streamGenerateContent?alt=sse
//        (x-goog-api-key or ?key=) → GenerateContentResponse, or `data: {json}\r\n\r\n`
//        records with no terminator (without alt=sse: one JSON array)
// Embeddings (formats and vectors: mock_embeddings.mjs), after the same key behaviours as chat:
//   POST /v1/embeddings  Bearer → OpenAI (Kimi keys: 404)
//   POST /v1beta/models/{model}:batchEmbedContents  (x-goog-api-key) → Gemini
//   recorded with kind: 'embeddings' (see `embeddingCalls`)
// The answer is "echo: " + the last user message's text, cut at the first stop sequence and at
// the output-token limit; tokens are words; streams send `wordsPerChunk` words an event.
// Requests with tools, tool results or a structured-output format get tool calls, a
// "tool results" echo or example JSON instead (mock_chat.mjs generate()), in each provider's
// wire format, streamed as the real APIs stream them.
// Bodies the real API rejects are rejected the same way (e.g. Anthropic: a "system" role
// message, a missing max_tokens, an unknown field; Google: an unknown field, role "assistant").
//
// What it answers follows from the key value (first match wins, in this order):
//   "keepalive" → chat: 200 with SSE headers, then only `: keep-alive` comments, for ever
//                 (stream and non-stream calls alike); probe: good
//   "emptyrole" → chat: as "keepalive" with empty role chunks (Anthropic: pings; Google: an
//                 empty text part) instead of comments
//   "pings"     → chat: as "keepalive" with Anthropic `ping` events (after a message_start)
//   "trickle"   → chat: the good answer (stream or JSON), one byte every `trickleMs`
//   "stalled"   → chat stream: the first `dropAfterChunks` content events, then only
//                 keep-alive comments, for ever
//   "slowstream" → chat streams `slowStreamChunks` events `chunkDelayMs` apart (probe: good)
//   "slow"      → answers after `slowMs` (15 s by default)
//   "flaky1"    → chat: 503 on the first chat call with this key, then good (resetCounters()
//                 re-arms it); probe: good
//   "exhaust"   → chat: good for the first `exhaustAfter` chat calls with this key, then 402
//                 (credits exhausted) in the provider's format; resetCounters() re-arms it;
//                 probe: good
//   "flaky"     → 503
//   "invalid"   → 401 in the provider's own format (Google: 400 API_KEY_INVALID, as Google does)
//   "denied"    → 403 (Google PERMISSION_DENIED; others 403 in their format)
//   "quota"     → OpenAI/Kimi 429 insufficient_quota; Google 429 RESOURCE_EXHAUSTED;
//                 Anthropic chat 400 "credit balance is too low" (probe: 429 rate_limit_error)
//   "credit"    → Anthropic 400 "credit balance is too low"; chat elsewhere as "quota"
//   "ratelimit" → 429 rate limit (not a quota problem), chat with `retry-after: 1`
//   "overloaded"→ chat: Anthropic 529 overloaded_error, others 503; probe: good
//   "dropped"   → chat stream: the first `dropAfterChunks` content events, then the TCP
//                 connection is cut; non-stream: cut before any answer; probe: good
//   "badreq"    → chat: 400 invalid_request_error (context too long) in the provider's
//                 format, never worth a failover; probe: good
//   "cached"    → chat: as "good", with half the prompt tokens reported as cache reads and 3
//                 reasoning tokens (OpenAI/Kimi usage details, Anthropic
//                 cache_read_input_tokens, Gemini cachedContentTokenCount/thoughtsTokenCount);
//                 also a modifier: any key containing "cached" reports usage that way
//   "good"      → 200 with a realistic body
//   anything else → 401, as a real provider does for an unknown key
// `requests` records method, path, query (any key= redacted), provider, which auth header was
// present and a short SHA-256 fingerprint of the key (see `fingerprint`), never the key
// itself; chat records add kind: 'chat', model, stream, the parsed body (a key found in it is
// replaced by "[KEY]" and keyInBody set), the request headers minus auth ones, status, outcome
// (completed | aborted: the client went away | dropped: the mock cut it) and eventsSent.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

import {
  anthropicErrorBody,
  anthropicHeaders,
  anthropicMessage,
  anthropicStreamEvents,
  chunkText,
  countWords,
  generate,
  googleErrorBody,
  googleErrorInfo,
  googleHeaders,
  googleResponse,
  googleStreamEvents,
  googleStreamRecords,
  openaiCompletion,
  openaiError,
  openaiHeaders,
  openaiStreamEvents,
  parseAnthropic,
  parseGoogle,
  parseOpenAI,
} from './mock_chat.mjs';
import { embeddingsAnswer } from './mock_embeddings.mjs';

export const SLOW_MS = 15_000;

/** Short fingerprint of a key, as recorded in `requests[].keyFingerprint`. */
export function fingerprint(key) {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost, in a fresh temp dir. */
export function makeCertificates() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nyxgate-mock-ca-'));
  const file = (name) => path.join(dir, name);
  const openssl = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2',
    '-subj', '/CN=nyxgate e2e throwaway CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash',
  ]);
  openssl(['req', '-new', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(
    file('server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid,issuer',
      '',
    ].join('\n'),
  );
  openssl([
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-sha256', '-extfile', file('server.ext'),
  ]);
  return {
    dir,
    caFile: file('ca.pem'),
    key: readFileSync(file('server.key')),
    cert: readFileSync(file('server.pem')),
  };
}

// Behaviours only the chat endpoints know; the key-probe endpoints treat them as "good" so such
// a key can be created and tested before it misbehaves on a chat call.
const CHAT_ONLY_BEHAVIOURS = ['cached', 'exhaust', 'keepalive', 'emptyrole', 'pings', 'trickle', 'stalled', 'slowstream', 'flaky1', 'overloaded', 'dropped', 'badreq'];
// Chat answers that send headers and then only bytes without content.
const SILENT_BEHAVIOURS = ['keepalive', 'emptyrole', 'pings'];
const PROBE_BEHAVIOURS = ['slow', 'flaky', 'invalid', 'denied', 'quota', 'credit', 'ratelimit', 'good'];
const CHAT_BEHAVIOURS = [
  'exhaust', 'keepalive', 'emptyrole', 'pings', 'trickle', 'stalled', 'slowstream', 'slow', 'flaky1', 'flaky', 'invalid', 'denied', 'quota', 'credit', 'ratelimit', 'overloaded', 'dropped',
  'badreq', 'cached', 'good',
];

/** What a key-probe call (GET /v1/models, /v1beta/models, /user) with `key` answers. */
export function probeBehaviourOf(key) {
  if (CHAT_ONLY_BEHAVIOURS.some((b) => key.includes(b))) return 'good';
  return PROBE_BEHAVIOURS.find((b) => key.includes(b)) ?? 'unknown';
}

/** What a chat call with `key` answers. */
export function chatBehaviourOf(key) {
  return CHAT_BEHAVIOURS.find((b) => key.includes(b)) ?? 'unknown';
}

/** The query string with any `key=` value replaced, so records never hold a key. */
function redactQuery(u) {
  if (!u.searchParams.has('key')) return u.search;
  const q = new URLSearchParams(u.searchParams);
  q.set('key', 'REDACTED');
  return `?${q}`;
}

function redact(key) {
  // What providers echo back in "Incorrect API key provided": the first and last few characters.
  return key.length > 8 ? `${key.slice(0, 3)}*********${key.slice(-4)}` : '****';
}

const DEFAULT_GITHUB_USERS = [
  { match: 'personal', login: 'ada-personal', id: 1815, name: 'Ada Lovelace' },
  { match: '', login: 'octocat', id: 583231, name: 'The Octocat' },
];

/**
 * Starts the mock on 127.0.0.1 and a free port (or `port`).
 * Options:
 *   slowMs           delay of "slow" keys before any answer (15 s)
 *   streamChunks     pieces per streamed answer (null: `wordsPerChunk` words a piece)
 *   wordsPerChunk    words per streamed piece when streamChunks is null (2)
 *   slowStreamChunks pieces of a "slowstream" answer (10)
 *   chunkDelayMs     delay between the events of a "slowstream" answer (250 ms)
 *   echoRepeat       each answer's text repeated this many times (1): large answers
 *   dropAfterChunks  content pieces a "dropped" stream sends before the cut (1; 0: none),
 *                    and a "stalled" one before it only sends keep-alive comments
 *   keepAliveMs      interval of the content-free bytes of "keepalive", "emptyrole", "pings"
 *                    and "stalled" (100 ms)
 *   trickleMs        interval between the bytes of a "trickle" answer (20 ms)
 *   exhaustAfter     chat calls an "exhaust" key is served before it answers 402 (5)
 *   maxBodyBytes     larger request bodies get 413 (10 MiB)
 *   githubUsers      [{match, login, id, name}]: the first whose `match` is in the key answers /user
 *   githubScopes     X-OAuth-Scopes of /user
 *   githubRepos      {"owner/name": {commits: n | [{message, author, login, date}], since?}}:
 *                    repositories the GitHub API knows (addGitHubRepo() adds more)
 *   githubRateLimited every GitHub call answers 403 rate limit exceeded (configure() switches it)
 *   githubLinkBase   origin written into Link URLs (null: the mock's own URL)
 * Request headers x-mock-chunks, x-mock-chunk-delay-ms and x-mock-drop-after override
 * streamChunks / chunkDelayMs / dropAfterChunks for one call.
 * Returns {port, url, caFile, requests, config, configure(), seen(), chats(), openConnections(),
 * activeChats(), stats(), resetCounters(), waitFor(), addGitHubRepo(), githubCommits(), close()}.
 */
export async function startMockProviders({
  slowMs = SLOW_MS,
  streamChunks = null,
  wordsPerChunk = 2,
  slowStreamChunks = 10,
  echoRepeat = 1,
  chunkDelayMs = 250,
  dropAfterChunks = 1,
  keepAliveMs = 100,
  trickleMs = 20,
  exhaustAfter = 5,
  maxBodyBytes = 10 * 1024 * 1024,
  githubUsers = DEFAULT_GITHUB_USERS,
  githubScopes = 'repo, read:user',
  githubRepos = {},
  githubRateLimited = false,
  githubLinkBase = null,
  port = 0,
  host = '127.0.0.1',
} = {}) {
  const certs = makeCertificates();
  const requests = [];
  const timers = new Set();
  const sockets = new Set();
  const config = {
    slowMs, streamChunks, wordsPerChunk, slowStreamChunks, chunkDelayMs, dropAfterChunks, echoRepeat, keepAliveMs, trickleMs, githubRateLimited, githubLinkBase,
    exhaustAfter,
  };
  const repos = new Map(); // "owner/name" (lower-cased) → {id, owner, name, commits (newest first)}
  const reposById = new Map();
  const githubRemaining = new Map(); // key fingerprint → x-ratelimit-remaining
  const flaky1Calls = new Map(); // key fingerprint → chat calls seen
  const pendingByResponse = new Map(); // response → its pending timers
  const stats = {
    connectionsOpened: 0,
    connectionsClosed: 0,
    chatRequests: 0,
    streamsStarted: 0,
    streamsCompleted: 0,
    aborted: 0,
    dropped: 0,
    active: 0,
  };

  function send(res, status, body, headers = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  // ---- OpenAI and Kimi ------------------------------------------------------------------
  function openaiLike(res, provider, key, behaviour) {
    const reqId = { 'x-request-id': `req_${randomUUID().replace(/-/g, '')}` };
    const kimi = provider === 'kimi';
    switch (behaviour) {
      case 'good':
        return send(
          res,
          200,
          kimi
            ? {
                object: 'list',
                data: [
                  { id: 'kimi-k2-0905-preview', object: 'model', created: 1757030400, owned_by: 'moonshot', permission: [] },
                  { id: 'moonshot-v1-8k', object: 'model', created: 1712000000, owned_by: 'moonshot', permission: [] },
                ],
              }
            : { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'openai' }] },
          reqId,
        );
      case 'quota':
        return send(
          res,
          429,
          {
            error: {
              message:
                'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
              type: 'insufficient_quota',
              param: null,
              code: 'insufficient_quota',
            },
          },
          reqId,
        );
      case 'ratelimit':
        return send(
          res,
          429,
          {
            error: {
              message: 'Rate limit reached for requests. Please try again in 1s.',
              type: 'requests',
              param: null,
              code: 'rate_limit_exceeded',
            },
          },
          { ...reqId, 'retry-after': '1' },
        );
      case 'denied':
        return send(
          res,
          403,
          {
            error: {
              message: 'You are not allowed to sample from this model',
              type: 'invalid_request_error',
              param: null,
              code: null,
            },
          },
          reqId,
        );
      default: // invalid, unknown
        return send(
          res,
          401,
          kimi
            ? { error: { message: 'Invalid Authentication', type: 'invalid_authentication_error' } }
            : {
                error: {
                  message: `Incorrect API key provided: ${redact(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
                  type: 'invalid_request_error',
                  param: null,
                  code: 'invalid_api_key',
                },
              },
          reqId,
        );
    }
  }

  // ---- Anthropic ------------------------------------------------------------------------
  function anthropicError(res, status, type, message) {
    send(
      res,
      status,
      { type: 'error', error: { type, message }, request_id: `req_${randomUUID().replace(/-/g, '')}` },
      { 'request-id': `req_${randomUUID().replace(/-/g, '')}` },
    );
  }

  function anthropic(req, res, key, behaviour) {
    if (!req.headers['anthropic-version']) {
      return anthropicError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
    }
    switch (behaviour) {
      case 'good':
        return send(
          res,
          200,
          {
            data: [
              {
                type: 'model',
                id: 'claude-sonnet-4-5',
                display_name: 'Claude Sonnet 4.5',
                created_at: '2025-09-29T00:00:00Z',
              },
            ],
            has_more: false,
            first_id: 'claude-sonnet-4-5',
            last_id: 'claude-sonnet-4-5',
          },
          { 'request-id': `req_${randomUUID().replace(/-/g, '')}` },
        );
      case 'credit':
        return anthropicError(
          res,
          400,
          'invalid_request_error',
          'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
        );
      case 'ratelimit':
      case 'quota':
        return anthropicError(res, 429, 'rate_limit_error', 'Number of requests has exceeded your rate limit.');
      case 'denied':
        return anthropicError(res, 403, 'permission_error', 'Your API key does not have permission to use the specified resource.');
      default:
        return anthropicError(res, 401, 'authentication_error', 'invalid x-api-key');
    }
  }

  // ---- Google Gemini --------------------------------------------------------------------
  function googleError(res, code, status, message, reason) {
    const error = { code, message, status };
    if (reason) {
      error.details = [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason,
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
      ];
    }
    send(res, code, { error });
  }

  function google(res, behaviour) {
    switch (behaviour) {
      case 'good':
        return send(res, 200, {
          models: [
            {
              name: 'models/gemini-2.5-flash',
              version: '001',
              displayName: 'Gemini 2.5 Flash',
              description: 'Stable version of Gemini 2.5 Flash.',
              inputTokenLimit: 1048576,
              outputTokenLimit: 65536,
              supportedGenerationMethods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
              temperature: 1,
              topP: 0.95,
              topK: 64,
              maxTemperature: 2,
              thinking: true,
            },
          ],
          nextPageToken: 'Ch5tb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaA==',
        });
      case 'denied':
        return googleError(
          res,
          403,
          'PERMISSION_DENIED',
          'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.',
        );
      case 'quota':
      case 'ratelimit':
        return googleError(
          res,
          429,
          'RESOURCE_EXHAUSTED',
          'You exceeded your current quota, please check your plan and billing details.',
        );
      default: // Google answers an invalid key with 400, not 401.
        return googleError(res, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', 'API_KEY_INVALID');
    }
  }

  // ---- GitHub ---------------------------------------------------------------------------
  const GITHUB_DOCS = 'https://docs.github.com/rest';
  let ownBase = '';

  function githubUser(login, id) {
    return {
      login,
      id,
      node_id: Buffer.from(`04:User${id}`).toString('base64'),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: '',
      url: `${ownBase}/users/${login}`,
      html_url: `https://github.com/${login}`,
      followers_url: `${ownBase}/users/${login}/followers`,
      repos_url: `${ownBase}/users/${login}/repos`,
      type: 'User',
      user_view_type: 'public',
      site_admin: false,
    };
  }

  /** Adds (or replaces) a repository; `commits` is a count or [{message, author, login, date}], newest first. */
  function addGitHubRepo(fullName, { commits = 0, start = Date.parse('2026-11-30T12:00:00Z'), stepMs = 3_600_000 } = {}) {
    const [owner, name] = fullName.split('/');
    const id = 100_000 + repos.size + 1;
    const list = (typeof commits === 'number' ? Array.from({ length: commits }, (_, i) => ({})) : commits).map((c, i) => {
      const sha = createHash('sha1').update(`${fullName}#${i}#${c.message ?? ''}`).digest('hex');
      const date = c.date ?? new Date(start - i * stepMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const author = c.author ?? 'Ada Lovelace';
      const login = c.login === undefined ? 'ada' : c.login;
      return { sha, date, author, login, message: c.message ?? `Commit ${i} of ${name}\n\nWhat changed in step ${i}.` };
    });
    const repo = { id, owner, name, fullName, commits: list };
    repos.set(fullName.toLowerCase(), repo);
    reposById.set(String(id), repo);
    return repo;
  }
  for (const [fullName, spec] of Object.entries(githubRepos)) addGitHubRepo(fullName, spec);

  function commitJson(repo, c, i) {
    const parent = repo.commits[i + 1];
    const person = { name: c.author, email: `${(c.login ?? 'someone').toLowerCase()}@users.noreply.github.com`, date: c.date };
    const api = `${ownBase}/repos/${repo.fullName}`;
    const account = c.login ? githubUser(c.login, 1000 + c.login.length) : null;
    return {
      sha: c.sha,
      node_id: `C_kwDO${Buffer.from(c.sha.slice(0, 12)).toString('base64').replace(/=+$/, '')}`,
      commit: {
        author: person,
        committer: { name: 'GitHub', email: 'noreply@github.com', date: c.date },
        message: c.message,
        tree: { sha: createHash('sha1').update(`tree:${c.sha}`).digest('hex'), url: `${api}/git/trees/${c.sha}` },
        url: `${api}/git/commits/${c.sha}`,
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
      },
      url: `${api}/commits/${c.sha}`,
      html_url: `https://github.com/${repo.fullName}/commit/${c.sha}`,
      comments_url: `${api}/commits/${c.sha}/comments`,
      author: account,
      committer: githubUser('web-flow', 19864447),
      parents: parent ? [{ sha: parent.sha, url: `${api}/commits/${parent.sha}`, html_url: `https://github.com/${repo.fullName}/commit/${parent.sha}` }] : [],
    };
  }

  function repoJson(repo) {
    return {
      id: repo.id,
      node_id: `R_kgDO${repo.id}`,
      name: repo.name,
      full_name: repo.fullName,
      private: false,
      owner: githubUser(repo.owner, 2000 + repo.owner.length),
      html_url: `https://github.com/${repo.fullName}`,
      description: `The ${repo.name} repository`,
      fork: false,
      url: `${ownBase}/repos/${repo.fullName}`,
      commits_url: `${ownBase}/repos/${repo.fullName}/commits{/sha}`,
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2026-11-30T12:00:00Z',
      pushed_at: '2026-11-30T12:00:00Z',
      default_branch: 'main',
      visibility: 'public',
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    };
  }

  /** The rate-limit headers GitHub sends; counts down per key. */
  function githubHeaders(key, limited) {
    const fp = fingerprint(key);
    const remaining = limited ? 0 : Math.max(1, (githubRemaining.get(fp) ?? 5000) - 1);
    if (!limited) githubRemaining.set(fp, remaining);
    return {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': String(5000 - remaining),
      'x-ratelimit-resource': 'core',
    };
  }

  function githubCommits(res, common, repo, u) {
    const perPage = Math.min(100, Math.max(1, Number(u.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(u.searchParams.get('page') ?? 1) || 1);
    const since = u.searchParams.get('since');
    const all = repo.commits.map((c, i) => [c, i]).filter(([c]) => !since || Date.parse(c.date) >= Date.parse(since));
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage).map(([c, i]) => commitJson(repo, c, i));
    const link = (p) => {
      const q = new URLSearchParams();
      q.set('per_page', String(perPage));
      if (since) q.set('since', since);
      q.set('page', String(p));
      return `<${config.githubLinkBase ?? ownBase}/repositories/${repo.id}/commits?${q}>`;
    };
    const rels = [];
    if (page > 1) rels.push(`${link(page - 1)}; rel="prev"`);
    if (page < last) rels.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) rels.push(`${link(1)}; rel="first"`);
    return send(res, 200, items, { ...common, ...(rels.length ? { link: rels.join(', ') } : {}) });
  }

  function github(res, key, behaviour, u) {
    const limited = config.githubRateLimited || behaviour === 'ratelimit' || behaviour === 'quota';
    const common = githubHeaders(key, limited);
    if (limited) {
      return send(
        res,
        403,
        {
          message: 'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID ' + common['x-github-request-id'] + '.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
          status: '403',
        },
        common,
      );
    }
    if (behaviour !== 'good') {
      return send(res, 401, { message: 'Bad credentials', documentation_url: GITHUB_DOCS, status: '401' }, common);
    }
    if (u.pathname === '/user') {
      const user = githubUsers.find((x) => key.includes(x.match)) ?? DEFAULT_GITHUB_USERS.at(-1);
      return send(
        res,
        200,
        {
          ...githubUser(user.login, user.id),
          name: user.name,
          company: null,
          blog: '',
          location: null,
          email: null,
          bio: null,
          public_repos: 8,
          followers: 1,
          following: 0,
          created_at: '2011-01-25T18:44:36Z',
          updated_at: '2025-01-01T00:00:00Z',
        },
        { ...common, 'x-oauth-scopes': githubScopes, 'x-accepted-oauth-scopes': '' },
      );
    }
    const byName = /^\/repos\/([^/]+)\/([^/]+)(\/commits)?$/.exec(u.pathname);
    const byId = /^\/repositories\/(\d+)\/commits$/.exec(u.pathname);
    const repo = byName ? repos.get(`${decodeURIComponent(byName[1])}/${decodeURIComponent(byName[2])}`.toLowerCase()) : byId ? reposById.get(byId[1]) : null;
    if (!repo) {
      const doc = byName && !byName[3] ? '/repos/repos#get-a-repository' : '/commits/commits#list-commits';
      return send(res, 404, { message: 'Not Found', documentation_url: `${GITHUB_DOCS}${doc}`, status: '404' }, common);
    }
    if (byName && !byName[3]) return send(res, 200, repoJson(repo), common);
    if (repo.commits.length === 0) {
      // GitHub's answer for the commits of a repository without any.
      return send(res, 409, { message: 'Git Repository is empty.', documentation_url: `${GITHUB_DOCS}/commits/commits#list-commits`, status: '409' }, common);
    }
    return githubCommits(res, common, repo, u);
  }

  // ---- chat endpoints -------------------------------------------------------------------
  // Routes: POST /v1/chat/completions (OpenAI, Kimi), POST /v1/messages (Anthropic),
  // POST /v1beta/models/{model}:generateContent | :streamGenerateContent (Google).
  function chatRoute(method, u) {
    if (method !== 'POST') return null;
    if (u.pathname === '/v1/chat/completions') return { kind: 'openai' };
    if (u.pathname === '/v1/embeddings') return { kind: 'openai', embeddings: true };
    if (u.pathname === '/v1/messages') return { kind: 'anthropic' };
    let pathname = u.pathname;
    try {
      pathname = decodeURIComponent(pathname);
    } catch {
      // keep it as it came
    }
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(pathname);
    if (!m) return null;
    if (m[2] === 'batchEmbedContents') return { kind: 'google', model: m[1], stream: false, embeddings: true };
    return { kind: 'google', model: m[1], stream: m[2] === 'streamGenerateContent', sse: u.searchParams.get('alt') === 'sse' };
  }

  const intHeader = (v) => (v !== undefined && /^\d+$/.test(String(v)) ? Number(v) : null);

  /** The failure a chat call with this behaviour gets, as {status, body, headers}, or null. */
  function chatFailure(provider, behaviour, key) {
    if (provider === 'anthropic') {
      const err = (status, type, message, headers = {}) => ({ status, body: anthropicErrorBody(type, message), headers: { ...anthropicHeaders(), ...headers } });
      switch (behaviour) {
        case 'invalid':
        case 'unknown':
          return err(401, 'authentication_error', 'invalid x-api-key');
        case 'denied':
          return err(403, 'permission_error', 'Your API key does not have permission to use the specified resource.');
        case 'quota':
        case 'credit':
          return err(400, 'invalid_request_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.');
        case 'ratelimit':
          return err(429, 'rate_limit_error', 'This request would exceed the rate limit for your organization of 50 requests per minute. Please try again later.', {
            'retry-after': '1',
            'anthropic-ratelimit-requests-remaining': '0',
          });
        case 'overloaded':
          return err(529, 'overloaded_error', 'Overloaded');
        case 'flaky':
        case 'flaky1!':
          return err(503, 'api_error', 'Service Unavailable');
        case 'badreq':
          return err(400, 'invalid_request_error', 'prompt is too long: 210345 tokens > 200000 maximum');
        default:
          return null;
      }
    }
    if (provider === 'google') {
      const err = (status, code, message, details, headers = {}) => ({ status, body: googleErrorBody(status, code, message, details), headers: { ...googleHeaders(), ...headers } });
      switch (behaviour) {
        case 'invalid':
        case 'unknown':
          return err(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
            googleErrorInfo('API_KEY_INVALID'),
            { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
          ]);
        case 'denied':
          return err(403, 'PERMISSION_DENIED', 'Generative Language API has not been used in project 1234567890 before or it is disabled.', [
            googleErrorInfo('SERVICE_DISABLED', { consumer: 'projects/1234567890' }),
          ]);
        case 'quota':
        case 'credit':
          return err(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.', [
            {
              '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
              violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' }],
            },
            { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
          ]);
        case 'ratelimit':
          return err(
            429,
            'RESOURCE_EXHAUSTED',
            'Resource has been exhausted (e.g. check quota).',
            [
              {
                '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
                violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' }],
              },
              { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
            ],
            { 'retry-after': '1' },
          );
        case 'overloaded':
        case 'flaky':
        case 'flaky1!':
          return err(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
        case 'badreq':
          return err(400, 'INVALID_ARGUMENT', 'The input token count (1203456) exceeds the maximum number of tokens allowed (1048576).');
        default:
          return null;
      }
    }
    const kimi = provider === 'kimi';
    const err = (status, message, type, code = null, param = null, headers = {}) => ({
      status,
      body: openaiError(message, type, code, param),
      headers: { ...openaiHeaders(provider), ...headers },
    });
    switch (behaviour) {
      case 'invalid':
      case 'unknown':
        return kimi
          ? { status: 401, body: { error: { message: 'Invalid Authentication', type: 'invalid_authentication_error' } }, headers: openaiHeaders(provider) }
          : err(401, `Incorrect API key provided: ${redact(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key');
      case 'denied':
        return kimi
          ? { status: 403, body: { error: { message: 'The API you are accessing is not open', type: 'permission_denied_error' } }, headers: openaiHeaders(provider) }
          : err(403, 'You are not allowed to sample from this model', 'invalid_request_error');
      case 'quota':
      case 'credit':
        return err(
          429,
          'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
          'insufficient_quota',
          'insufficient_quota',
        );
      case 'ratelimit':
        return err(429, 'Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.', 'requests', 'rate_limit_exceeded', null, {
          'retry-after': '1',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '1s',
        });
      case 'overloaded':
      case 'flaky':
      case 'flaky1!':
        return err(503, 'The server is overloaded or not ready yet.', 'server_error');
      case 'badreq':
        return err(
          400,
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.",
          'invalid_request_error',
          'context_length_exceeded',
          'messages',
        );
      default:
        return null;
    }
  }

  /** A 400 for a body the provider would reject, in its format. */
  /** 402: the account's credits are used up (what a prepaid provider answers). */
  function chatPaymentRequired(provider) {
    const message = 'Insufficient credits: your account balance is exhausted. Add credits to continue.';
    if (provider === 'anthropic') return { status: 402, body: anthropicErrorBody('billing_error', message), headers: anthropicHeaders() };
    if (provider === 'google') return { status: 402, body: googleErrorBody(402, 'FAILED_PRECONDITION', message, []), headers: googleHeaders() };
    return { status: 402, body: openaiError(message, 'insufficient_credits', 'insufficient_credits'), headers: openaiHeaders(provider) };
  }

  function chatInvalid(provider, message, param) {
    if (provider === 'anthropic') return { status: 400, body: anthropicErrorBody('invalid_request_error', message), headers: anthropicHeaders() };
    if (provider === 'google') return { status: 400, body: googleErrorBody(400, 'INVALID_ARGUMENT', message), headers: googleHeaders() };
    return { status: 400, body: openaiError(message, 'invalid_request_error', null, param ?? null), headers: openaiHeaders(provider) };
  }

  function chatNoKey(provider) {
    if (provider === 'anthropic') return { status: 401, body: anthropicErrorBody('authentication_error', 'x-api-key header is required'), headers: anthropicHeaders() };
    if (provider === 'google') {
      return {
        status: 403,
        body: googleErrorBody(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."),
        headers: googleHeaders(),
      };
    }
    return {
      status: 401,
      body: openaiError(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error',
      ),
      headers: openaiHeaders(provider),
    };
  }

  /** Runs `fn` after `ms` unless the response has gone away meanwhile. */
  function later(res, ms, fn) {
    if (ms <= 0) return fn();
    let mine = pendingByResponse.get(res);
    if (!mine) {
      mine = new Set();
      pendingByResponse.set(res, mine);
      res.once('close', () => {
        for (const t of mine) {
          clearTimeout(t);
          timers.delete(t);
        }
        pendingByResponse.delete(res);
      });
    }
    const t = setTimeout(() => {
      timers.delete(t);
      mine.delete(t);
      if (!res.destroyed) fn();
    }, ms);
    timers.add(t);
    mine.add(t);
  }

  function dropConnection(res, rec) {
    rec.outcome = 'dropped';
    stats.dropped += 1;
    const socket = res.socket;
    // Let what was written reach the client first, then cut the TCP connection.
    const t = setTimeout(() => {
      timers.delete(t);
      socket?.destroy();
    }, 25);
    timers.add(t);
  }

  /**
   * Writes SSE `events` one by one; `delayMs` between events once content started. After
   * `dropAfter` content events the connection is cut; after `stallAfter` only keep-alive
   * comments follow.
   */
  function streamEvents(res, rec, headers, events, { delayMs, dropAfter, stallAfter = null }) {
    res.writeHead(200, headers);
    res.flushHeaders();
    stats.streamsStarted += 1;
    const firstContent = events.findIndex((e) => e.content);
    const lastContent = events.findLastIndex((e) => e.content);
    let i = 0;
    let contentSent = 0;
    const step = () => {
      if (res.destroyed || res.writableEnded) return;
      if (i >= events.length) {
        res.end();
        return;
      }
      const e = events[i];
      if (dropAfter !== null && contentSent >= dropAfter && (e.content || i > lastContent)) {
        dropConnection(res, rec);
        return;
      }
      if (stallAfter !== null && contentSent >= stallAfter && (e.content || i > lastContent)) {
        keepAlive(res, rec, ': keep-alive\n\n');
        return;
      }
      const flowing = res.write(e.data);
      if (e.content) contentSent += 1;
      rec.eventsSent += 1;
      i += 1;
      if (i === events.length) {
        res.end();
        return;
      }
      const next = () => later(res, delayMs > 0 && firstContent >= 0 && i > firstContent ? delayMs : 0, step);
      // A reader that does not read holds us back, as a real server's socket would.
      if (flowing) next();
      else res.once('drain', next);
    };
    step();
  }

  function handleChat(req, res, u, route, rawBody) {
    const h = req.headers;
    const bearer = /^Bearer\s+(.+)$/i.exec(h.authorization ?? '')?.[1];
    let provider;
    let auth = 'none';
    let key = '';
    if (route.kind === 'openai') {
      provider = bearer && /kimi|moonshot/i.test(bearer) ? 'kimi' : 'openai';
      if (bearer) [auth, key] = ['authorization-bearer', bearer];
    } else if (route.kind === 'anthropic') {
      provider = 'anthropic';
      // The API takes x-api-key (what nyxgate sends); @anthropic-ai/sdk 1.x sends the key
      // as a Bearer token instead.
      if (h['x-api-key']) [auth, key] = ['x-api-key', h['x-api-key']];
      else if (bearer) [auth, key] = ['authorization-bearer', bearer];
    } else {
      provider = 'google';
      if (h['x-goog-api-key']) [auth, key] = ['x-goog-api-key', h['x-goog-api-key']];
      else if (u.searchParams.get('key')) [auth, key] = ['query-key', u.searchParams.get('key')];
    }
    const behaviour = key ? chatBehaviourOf(key) : 'none';
    const text = rawBody.toString('utf8');
    let body;
    let jsonError = null;
    try {
      body = JSON.parse(text);
    } catch (e) {
      jsonError = e.message;
    }
    const keyInBody = Boolean(key) && text.includes(key);
    const scrub = (s) => (key ? s.split(key).join('[KEY]') : s);
    const headers = {};
    for (const [name, value] of Object.entries(h)) {
      if (['authorization', 'x-api-key', 'x-goog-api-key', 'cookie'].includes(name)) continue;
      headers[name] = scrub(String(value));
    }
    const rec = {
      at: Date.now(),
      kind: route.embeddings ? 'embeddings' : 'chat',
      method: req.method,
      path: u.pathname,
      query: redactQuery(u),
      provider,
      auth,
      anthropicVersion: h['anthropic-version'] ?? null,
      userAgent: h['user-agent'] ?? null,
      host: h.host ?? null,
      behaviour,
      keyFingerprint: key ? fingerprint(key) : null,
      model: route.kind === 'google' ? route.model : typeof body?.model === 'string' ? body.model : null,
      stream: route.kind === 'google' ? route.stream : body?.stream === true,
      body: jsonError ? null : keyInBody ? JSON.parse(scrub(text)) : body,
      keyInBody,
      headers,
      status: null,
      outcome: 'pending', // then: completed | aborted (the client went away) | dropped (by the mock)
      eventsSent: 0,
    };
    requests.push(rec);
    stats.chatRequests += 1;
    stats.active += 1;
    // Completed when the mock ends the answer (synchronously, so a client that has read the
    // whole answer never sees the record still pending).
    const end = res.end.bind(res);
    res.end = (...args) => {
      rec.status = res.statusCode;
      if (rec.outcome === 'pending' && !res.destroyed) {
        rec.outcome = 'completed';
        if (rec.stream && rec.status === 200) stats.streamsCompleted += 1;
      }
      return end(...args);
    };
    res.once('close', () => {
      stats.active -= 1;
      rec.status ??= res.headersSent ? res.statusCode : null;
      if (rec.outcome !== 'pending') return;
      rec.outcome = 'aborted';
      stats.aborted += 1;
    });

    const reply = ({ status, body: b, headers: hs }) => send(res, status, b, hs);

    if (!key) return reply(chatNoKey(provider));
    if (provider === 'anthropic' && !h['anthropic-version']) {
      return reply(chatInvalid(provider, 'anthropic-version: header is required'));
    }
    if (jsonError) {
      if (provider === 'google') return reply(chatInvalid(provider, `Invalid JSON payload received. ${jsonError}`));
      if (provider === 'anthropic') return reply(chatInvalid(provider, `There was an error parsing the body: ${jsonError}`));
      return reply(chatInvalid(provider, `We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)`));
    }
    let effective = behaviour;
    if (behaviour === 'flaky1') {
      const n = (flaky1Calls.get(rec.keyFingerprint) ?? 0) + 1;
      flaky1Calls.set(rec.keyFingerprint, n);
      effective = n === 1 ? 'flaky1!' : 'good';
    }
    if (behaviour === 'exhaust') {
      const n = (flaky1Calls.get(`exhaust ${rec.keyFingerprint}`) ?? 0) + 1;
      flaky1Calls.set(`exhaust ${rec.keyFingerprint}`, n);
      if (n > config.exhaustAfter) return reply(chatPaymentRequired(provider));
      effective = 'good';
    }
    if (effective !== 'badreq') {
      const failure = chatFailure(provider, effective, key);
      if (failure) return reply(failure);
    }
    if (route.embeddings) {
      return later(res, behaviour === 'slow' ? config.slowMs : 0, () =>
        behaviour === 'dropped' ? dropConnection(res, rec) : reply(embeddingsAnswer(provider, route, body)),
      );
    }
    const parsed =
      route.kind === 'openai' ? parseOpenAI(body) : route.kind === 'anthropic' ? parseAnthropic(body) : parseGoogle(body, route.model);
    if (parsed.error) return reply(chatInvalid(provider, parsed.error.message, parsed.error.param));
    if (effective === 'badreq') return reply(chatFailure(provider, 'badreq', key));

    const g = generate(parsed.input, parsed.conversation, { cached: key.includes('cached') });
    if (config.echoRepeat > 1) {
      g.text = Array(config.echoRepeat).fill(g.text).join(' ');
      g.completionTokens = countWords(g.text);
    }
    const model = parsed.model;
    const stream = rec.stream;
    const slowstream = behaviour === 'slowstream';
    const chunks = intHeader(h['x-mock-chunks']) ?? (slowstream ? config.slowStreamChunks : config.streamChunks);
    const delayMs = intHeader(h['x-mock-chunk-delay-ms']) ?? (slowstream ? config.chunkDelayMs : 0);
    const dropAfter = behaviour === 'dropped' ? (intHeader(h['x-mock-drop-after']) ?? config.dropAfterChunks) : null;
    const pieces = chunkText(g.text, { chunks, wordsPerChunk: config.wordsPerChunk });

    // The answer in the provider's wire format: {headers, body} for a JSON answer, or
    // {headers, events} for a stream.
    const answer = () => {
      const sse = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
      if (provider === 'anthropic') {
        if (!stream) return { headers: anthropicHeaders(), body: anthropicMessage(model, g) };
        return { headers: { ...sse, ...anthropicHeaders() }, events: anthropicStreamEvents(model, g, pieces) };
      }
      if (provider === 'google') {
        const gh = { ...googleHeaders(), 'content-type': 'application/json; charset=UTF-8' };
        if (!stream) return { headers: gh, body: googleResponse(model, g) };
        if (!route.sse) {
          // Without alt=sse Google streams one JSON array of the same records.
          const records = googleStreamRecords(model, g, pieces).map((r) => JSON.stringify(r));
          return { headers: gh, body: `[${records.join(',\r\n')}]` };
        }
        return {
          headers: { 'content-type': 'text/event-stream', 'x-accel-buffering': 'no', ...googleHeaders() },
          events: googleStreamEvents(model, g, pieces),
        };
      }
      if (!stream) return { headers: openaiHeaders(provider), body: openaiCompletion(model, g, provider) };
      return {
        headers: { ...sse, ...openaiHeaders(provider) },
        events: openaiStreamEvents(model, g, pieces, Boolean(parsed.includeUsage), provider),
      };
    };

    later(res, behaviour === 'slow' ? config.slowMs : 0, () => {
      if (behaviour === 'dropped' && !stream) return dropConnection(res, rec);
      if (SILENT_BEHAVIOURS.includes(behaviour)) return silentAnswer(res, rec, provider, behaviour, model);
      const a = answer();
      if (behaviour === 'trickle') {
        const bytes = Buffer.from(a.events ? a.events.map((e) => e.data).join('') : typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
        return trickle(res, rec, a.events ? a.headers : { 'content-type': 'application/json; charset=utf-8', ...a.headers }, bytes);
      }
      if (!a.events) return send(res, 200, a.body, a.headers);
      const stallAfter = behaviour === 'stalled' ? (intHeader(h['x-mock-drop-after']) ?? config.dropAfterChunks) : null;
      return streamEvents(res, rec, a.headers, a.events, { delayMs, dropAfter, stallAfter });
    });
  }

  /**
   * Headers, then bytes that carry no content, every `keepAliveMs`, until the client goes:
   * SSE comments ("keepalive"), empty role chunks ("emptyrole"; Anthropic: pings, Google: an
   * empty text part), or Anthropic's message_start and then pings ("pings"). Stream and
   * non-stream calls alike, as a proxy that streams regardless would.
   */
  function silentAnswer(res, rec, provider, behaviour, model) {
    const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
    res.writeHead(200, headers);
    res.flushHeaders();
    stats.streamsStarted += 1;
    const ping = 'event: ping\ndata: {"type": "ping"}\n\n';
    let filler = ': keep-alive\n\n';
    if (behaviour === 'pings' || (behaviour === 'emptyrole' && provider === 'anthropic')) {
      filler = ping;
      if (behaviour === 'pings' && provider === 'anthropic') {
        const start = anthropicStreamEvents(model, { text: '', finish: 'stop', stopSequence: null, promptTokens: 1, completionTokens: 0 }, [])[0];
        res.write(start.data);
        rec.eventsSent += 1;
      }
    } else if (behaviour === 'emptyrole') {
      filler =
        provider === 'google'
          ? `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, index: 0 }], modelVersion: model })}\r\n\r\n`
          : openaiStreamEvents(model, { finish: 'stop' }, [], false)[0].data;
    }
    keepAlive(res, rec, filler);
  }

  /** Writes `filler` every `keepAliveMs` until the client goes away. */
  function keepAlive(res, rec, filler) {
    const tick = () => {
      if (res.destroyed || res.writableEnded) return;
      res.write(filler);
      rec.eventsSent += 1;
      later(res, config.keepAliveMs, tick);
    };
    tick();
  }

  /** The whole answer, one byte every `trickleMs`. */
  function trickle(res, rec, headers, bytes) {
    res.writeHead(200, headers);
    res.flushHeaders();
    let i = 0;
    const step = () => {
      if (res.destroyed || res.writableEnded) return;
      if (i >= bytes.length) return res.end();
      res.write(bytes.subarray(i, i + 1));
      i += 1;
      later(res, config.trickleMs, step);
    };
    step();
  }

  // ---- dispatch -------------------------------------------------------------------------
  function handle(req, res) {
    const u = new URL(req.url, 'https://127.0.0.1');
    const h = req.headers;
    const bearer = /^Bearer\s+(.+)$/i.exec(h.authorization ?? '')?.[1];
    const githubToken = bearer ?? /^token\s+(.+)$/i.exec(h.authorization ?? '')?.[1];
    let provider = 'unknown';
    let auth = 'none';
    let key = '';
    if (u.pathname === '/user' || /^\/(repos|repositories)\//.test(u.pathname)) {
      provider = 'github';
      if (githubToken) [auth, key] = [bearer ? 'authorization-bearer' : 'authorization-token', githubToken];
    } else if (u.pathname === '/v1beta/models') {
      provider = 'google';
      if (h['x-goog-api-key']) [auth, key] = ['x-goog-api-key', h['x-goog-api-key']];
      else if (u.searchParams.get('key')) [auth, key] = ['query-key', u.searchParams.get('key')];
    } else if (u.pathname === '/v1/models') {
      if (h['x-api-key']) [provider, auth, key] = ['anthropic', 'x-api-key', h['x-api-key']];
      else if (bearer) [provider, auth, key] = [/kimi|moonshot/i.test(bearer) ? 'kimi' : 'openai', 'authorization-bearer', bearer];
      else provider = 'openai';
    }
    const behaviour = key ? probeBehaviourOf(key) : 'none';
    requests.push({
      at: Date.now(),
      method: req.method,
      path: u.pathname,
      query: redactQuery(u),
      provider,
      auth,
      anthropicVersion: h['anthropic-version'] ?? null,
      userAgent: h['user-agent'] ?? null,
      host: h.host ?? null,
      behaviour,
      keyFingerprint: key ? fingerprint(key) : null,
    });

    if (provider === 'unknown') {
      return send(res, 404, { error: { message: `mock: no route for ${req.method} ${u.pathname}`, type: 'not_found' } });
    }
    if (req.method !== 'GET') {
      return send(res, 405, { error: { message: `mock: ${req.method} not allowed on ${u.pathname}`, type: 'invalid_request_error' } });
    }
    if (!key) {
      switch (provider) {
        case 'anthropic':
          return anthropicError(res, 401, 'authentication_error', 'x-api-key header is required');
        case 'google':
          return googleError(res, 403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
        case 'github':
          return send(res, 401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest', status: '401' });
        default:
          return send(res, 401, {
            error: {
              message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
              type: 'invalid_request_error',
              param: null,
              code: null,
            },
          });
      }
    }
    const answer = () => {
      if (behaviour === 'flaky') {
        if (provider === 'anthropic') return anthropicError(res, 503, 'api_error', 'Service Unavailable');
        if (provider === 'google') return googleError(res, 503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
        if (provider === 'github') return send(res, 503, { message: 'Service Unavailable' });
        return send(res, 503, { error: { message: 'The server is overloaded or not ready yet.', type: 'server_error', param: null, code: null } });
      }
      const b = behaviour === 'slow' ? 'good' : behaviour;
      if (provider === 'anthropic') return anthropic(req, res, key, b);
      if (provider === 'google') return google(res, b);
      if (provider === 'github') return github(res, key, b, u);
      return openaiLike(res, provider, key, b);
    };
    if (behaviour === 'slow') {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) answer();
      }, config.slowMs);
      timers.add(t);
      return;
    }
    answer();
  }

  const server = https.createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    const parts = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > maxBodyBytes) tooBig = true;
      else parts.push(c);
    });
    req.on('end', () => {
      try {
        const u = new URL(req.url, 'https://127.0.0.1');
        const route = chatRoute(req.method, u);
        if (tooBig) return send(res, 413, { error: { message: 'mock: request body too large', type: 'invalid_request_error' } });
        if (route) return handleChat(req, res, u, route, Buffer.concat(parts));
        handle(req, res);
      } catch (err) {
        if (!res.headersSent) send(res, 500, { error: { message: `mock: ${err.message}`, type: 'server_error' } });
        else res.destroy();
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    stats.connectionsOpened += 1;
    s.on('close', () => {
      sockets.delete(s);
      stats.connectionsClosed += 1;
    });
  });
  // TLS handshake failures (a client that does not trust the CA) are expected in some tests.
  server.on('tlsClientError', () => {});

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  ownBase = `https://${host}:${address.port}`;

  return {
    port: address.port,
    url: `https://${host}:${address.port}`,
    caFile: certs.caFile,
    /** Every request seen, probe and chat (chat ones have kind: 'chat'); never a key. */
    requests,
    /** The live settings (slowMs, streamChunks, wordsPerChunk, slowStreamChunks, chunkDelayMs, dropAfterChunks). */
    config,
    /** Changes settings for the following requests. */
    configure(changes) {
      for (const [k, v] of Object.entries(changes)) {
        if (!(k in config)) throw new Error(`mock: unknown setting ${k}`);
        config[k] = v;
      }
      return { ...config };
    },
    /** Requests the mock saw for `provider` (optionally only those made with `key`). */
    seen(provider, key) {
      return requests.filter((r) => r.provider === provider && (key === undefined || r.keyFingerprint === fingerprint(key)));
    },
    /** Chat requests, optionally only for `provider` and/or made with `key`. */
    chats(provider, key) {
      return requests.filter(
        (r) => r.kind === 'chat' && (provider === undefined || r.provider === provider) && (key === undefined || r.keyFingerprint === fingerprint(key)),
      );
    },
    /** The embeddings calls seen, as `chats` filters them. */
    embeddingCalls(provider, key) {
      return requests.filter(
        (r) => r.kind === 'embeddings' && (provider === undefined || r.provider === provider) && (key === undefined || r.keyFingerprint === fingerprint(key)),
      );
    },
    addGitHubRepo,
    /** The commits of a repository the mock knows, newest first ({sha, date, author, login, message}). */
    githubCommits(fullName) {
      return repos.get(fullName.toLowerCase())?.commits ?? [];
    },
    /** TCP connections to the mock that are open right now. */
    openConnections() {
      return sockets.size;
    },
    /** Chat responses in flight right now (stream or not). */
    activeChats() {
      return stats.active;
    },
    /**
     * Counters since start or the last resetCounters(): connectionsOpened, connectionsClosed,
     * chatRequests, streamsStarted, streamsCompleted, aborted (the client closed before the
     * answer ended), dropped (the mock cut the connection); plus open and active right now.
     */
    stats() {
      return { ...stats, open: sockets.size };
    },
    /** Zeroes the counters and forgets which flaky1 keys have already failed once. */
    resetCounters() {
      flaky1Calls.clear();
      for (const k of Object.keys(stats)) if (k !== 'active') stats[k] = 0;
    },
    /** Polls `predicate` every 20 ms until it is truthy or `timeoutMs` passes (then throws). */
    async waitFor(predicate, timeoutMs = 5000, what = 'condition') {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const v = await predicate();
        if (v) return v;
        if (Date.now() > until) throw new Error(`mock: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      rmSync(certs.dir, { recursive: true, force: true });
    },
  };
}

/** `--providers.<p>.base_url=<url>` for every provider nyxgate knows, all pointing at `url`. */
export function providerFlags(url) {
  return ['openai', 'anthropic', 'google', 'kimi', 'github'].map((p) => `--providers.${p}.base_url=${url}`);
}

export { ECHO_PREFIX, chunkText, countWords } from './mock_chat.mjs';
