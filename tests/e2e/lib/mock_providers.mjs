// An HTTPS imitation of the upstream providers nyxgate calls to test a key: OpenAI, Kimi
// (OpenAI-compatible), Anthropic, Google Gemini and GitHub, on one port with one base URL
// for all of them. Its certificate is issued by a throwaway CA made with the `openssl` CLI,
// so nyxgate can verify it with `--tls.ca_file=<caFile>`.
//
// Which provider a request is for follows from its path and headers:
//   GET /v1/models      with x-api-key                 → Anthropic (needs anthropic-version)
//   GET /v1/models      with Authorization: Bearer     → OpenAI, or Kimi when the key says "kimi"
//   GET /v1beta/models  with x-goog-api-key (or ?key=) → Google
//   GET /user           with Authorization             → GitHub
// What it answers follows from the key value (first match wins):
//   "slow"    → answers after `slowMs` (15 s by default)
//   "flaky"   → 503
//   "invalid" → 401 in the provider's own format (Google: 400 API_KEY_INVALID, as Google does)
//   "denied"  → 403 (Google PERMISSION_DENIED; others 403 in their format)
//   "quota"   → OpenAI/Kimi 429 insufficient_quota; Google 429 RESOURCE_EXHAUSTED
//   "credit"  → Anthropic 400 "credit balance is too low"
//   "ratelimit" → 429 rate limit (not a quota problem)
//   "good"    → 200 with a realistic body
//   anything else → 401, as a real provider does for an unknown key
// `requests` records method, path, query, provider and which auth header was present, plus a
// short SHA-256 fingerprint of the key (see `fingerprint`), never the key itself.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

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

function behaviourOf(key) {
  for (const b of ['slow', 'flaky', 'invalid', 'denied', 'quota', 'credit', 'ratelimit', 'good']) {
    if (key.includes(b)) return b;
  }
  return 'unknown';
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
 * Starts the mock on 127.0.0.1 and a free port.
 * Options: `slowMs` (delay of "slow" keys), `githubUsers` ([{match, login, id, name}]: the first
 * whose `match` is in the key answers /user), `githubScopes` (X-OAuth-Scopes).
 * Returns {port, url, caFile, requests, close()}.
 */
export async function startMockProviders({
  slowMs = SLOW_MS,
  githubUsers = DEFAULT_GITHUB_USERS,
  githubScopes = 'repo, read:user',
} = {}) {
  const certs = makeCertificates();
  const requests = [];
  const timers = new Set();
  const sockets = new Set();

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
  function github(res, key, behaviour) {
    const common = {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
    };
    if (behaviour === 'good') {
      const user = githubUsers.find((u) => key.includes(u.match)) ?? DEFAULT_GITHUB_USERS.at(-1);
      return send(
        res,
        200,
        {
          login: user.login,
          id: user.id,
          node_id: 'MDQ6VXNlcjU4MzIzMQ==',
          avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
          url: `https://api.github.com/users/${user.login}`,
          html_url: `https://github.com/${user.login}`,
          type: 'User',
          site_admin: false,
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
    if (behaviour === 'ratelimit' || behaviour === 'quota') {
      return send(
        res,
        403,
        {
          message: 'API rate limit exceeded for user ID 1.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
          status: '403',
        },
        { ...common, 'x-ratelimit-remaining': '0' },
      );
    }
    return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' }, common);
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
    if (u.pathname === '/user') {
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
    const behaviour = key ? behaviourOf(key) : 'none';
    requests.push({
      at: Date.now(),
      method: req.method,
      path: u.pathname,
      query: u.search,
      provider,
      auth,
      anthropicVersion: h['anthropic-version'] ?? null,
      userAgent: h['user-agent'] ?? null,
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
      if (provider === 'github') return github(res, key, b);
      return openaiLike(res, provider, key, b);
    };
    if (behaviour === 'slow') {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) answer();
      }, slowMs);
      timers.add(t);
      return;
    }
    answer();
  }

  const server = https.createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    req.resume(); // no route reads a body
    req.on('end', () => {
      try {
        handle(req, res);
      } catch (err) {
        send(res, 500, { error: { message: `mock: ${err.message}`, type: 'server_error' } });
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // TLS handshake failures (a client that does not trust the CA) are expected in some tests.
  server.on('tlsClientError', () => {});

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  return {
    port,
    url: `https://127.0.0.1:${port}`,
    caFile: certs.caFile,
    requests,
    /** Requests the mock saw for `provider` (optionally only those made with `key`). */
    seen(provider, key) {
      return requests.filter((r) => r.provider === provider && (key === undefined || r.keyFingerprint === fingerprint(key)));
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
