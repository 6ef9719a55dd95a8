// The README's quickstart, run as written: every ```sh block of its "Quickstart" section, in
// order, in one bash, in a fresh folder, against the HTTPS mock providers. The test changes
// only what a test machine must, and fails when the README and the program drift apart:
//  - `./scripts/build.sh` is skipped and `./build/release/nyxgate` is the binary under test
//    (the test command built it);
//  - `npm install openai ws` links the e2e tests' node_modules (the same packages, no download);
//  - 127.0.0.1:8080 becomes a free port (NYXGATE_SERVER_LISTEN for the binary);
//  - the environment points the providers at the mock and gives OPENAI_API_KEY a key the mock
//    accepts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { ECHO_PREFIX, startMockProviders } from './lib/mock_providers.mjs';
import { freePort, makeDataDir, nyxgateBin } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(path.resolve(here, '..', '..', 'README.md'), 'utf8');

/** The ```sh blocks between "## Quickstart" and the next "## " heading. */
function quickstartBlocks(text) {
  const start = text.indexOf('\n## Quickstart');
  assert.ok(start >= 0, 'README has no "## Quickstart" section');
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function runBash(script, { cwd, env, timeoutMs }) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe("the README's quickstart", () => {
  let mock;
  let dir;
  let run;
  const openaiKey = 'sk-good-quickstart-0001'; // "good": the mock answers it

  before(async () => {
    mock = await startMockProviders();
    dir = await makeDataDir('nyxgate-quickstart-');
    const port = await freePort();
    const blocks = quickstartBlocks(readme);
    assert.ok(blocks.length >= 4, `only ${blocks.length} sh blocks in the quickstart`);
    const nodeModules = path.join(here, 'node_modules');
    // A failed step must not leave the server running.
    let script = `trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${blocks.join('\n')}`;
    for (const [from, to] of [
      ['./scripts/build.sh\n', ':\n'],
      ['./build/release/nyxgate', nyxgateBin()],
      ['npm install openai ws', `ln -s ${nodeModules} node_modules`],
      ['127.0.0.1:8080', `127.0.0.1:${port}`],
    ]) {
      assert.ok(script.includes(from), `the quickstart no longer says ${from.trim()}`);
      script = script.replaceAll(from, to);
    }
    const env = {
      ...process.env,
      OPENAI_API_KEY: openaiKey,
      NYXGATE_SERVER_LISTEN: `127.0.0.1:${port}`,
      NYXGATE_TLS_CA_FILE: mock.caFile,
      NYXGATE_DATABASE_EMBEDDED_FAST_UNSAFE: 'true',
    };
    for (const p of ['openai', 'anthropic', 'google', 'kimi', 'github']) {
      env[`NYXGATE_PROVIDERS_${p.toUpperCase()}_BASE_URL`] = mock.url;
    }
    run = await runBash(script, { cwd: dir, env, timeoutMs: 240_000 });
  });

  after(async () => {
    if (mock) await mock.close();
    if (dir && !process.env.NYXGATE_E2E_KEEP) await rm(dir, { recursive: true, force: true });
  });

  const context = () => `exit ${run.code ?? run.signal}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

  it('runs to the end', () => {
    assert.equal(run.code, 0, context());
  });

  it('adds the key and sets the defaults', () => {
    assert.match(run.stdout, /openai {2}tenant {2}active {2}…0001 {2}team key/, context());
    assert.match(run.stdout, /primary: +openai\nfallback: +anthropic/, context());
    assert.ok(mock.requests.some((r) => r.kind === 'chat'), 'no call reached the mock');
  });

  it('answers curl with the x-nyxgate headers, plain and streamed', () => {
    assert.match(run.stdout, /x-nyxgate-provider: openai/i, context());
    assert.match(run.stdout, /x-nyxgate-fallback: false/i, context());
    assert.ok(run.stdout.includes(`"content":"${ECHO_PREFIX}Say hello"`), context());
    assert.match(run.stdout, /^data: \[DONE\]$/m, context());
  });

  it('answers the openai SDK and the WebSocket', () => {
    assert.ok(run.stdout.includes(`sdk: ${ECHO_PREFIX}Say hello`), context());
    assert.ok(run.stdout.includes(`sdk stream: ${ECHO_PREFIX}Say hello`), context());
    assert.match(run.stdout, /^ws: meta openai$/m, context());
    assert.match(run.stdout, /^ws: done/m, context());
  });

  it('creates a project with notes, publishes a post and shows its public page and feed', () => {
    assert.match(run.stdout, /"items":\[\{"id":"[0-9a-f-]{36}","projectId":"[0-9a-f-]{36}","authorId":"[0-9a-f-]{36}","title":"Pricing"/, context());
    assert.match(run.stdout, /"status":"published","publishedAt":"\d{4}-/, context());
    assert.match(run.stdout, /"notes":2,/, context());
    assert.match(run.stdout, /<article class="hero">[\s\S]*We are live/, context());
    assert.match(run.stdout, /^<title>Launch<\/title>$/m, context());
    assert.match(run.stdout, /^<title>We are live<\/title>$/m, context());
  });

  it('generates a draft post from the new note and streams the run to its end', () => {
    assert.match(run.stdout, /^event: connected$/m, context());
    assert.match(run.stdout, /^data: \{"id":"[0-9a-f-]{36}"[^\n]*"kind":"blog","status":"done"/m, context());
    assert.match(run.stdout, /^event: return$/m, context());
    assert.match(run.stdout, /"status":"draft"[^\n]*Teams ask for yearly billing|Teams ask for yearly billing[^\n]*"status":"draft"/, context());
  });

  it('shows one usage row per call and stops the server cleanly', () => {
    const rows = run.stdout.split('\n').filter((l) => /^\s*openai\s*\|.*\|\s*ok\s*\|/.test(l));
    assert.equal(rows.length, 5, context());
    const log = readFileSync(path.join(dir, 'var', 'nyxgate.log'), 'utf8');
    assert.match(log, /"msg":"stopped"/, "the server did not stop cleanly");
    assert.ok(!log.includes(openaiKey), 'the provider key reached the log');
    const token = readFileSync(path.join(dir, 'var', 'admin.token'), 'utf8').trim();
    assert.ok(!log.includes(token), 'the token reached the log');
  });
});
