// The pipeline engine (docs/workflows.md, "The engine") on one external PostgreSQL shared by the
// nodes: a blog run fails over to the fallback provider when the primary's credits run out, a
// node killed with SIGKILL mid-run leaves its items to the node that starts next, two nodes
// sharing a run never process an item twice, a `length` answer is continued once (and fails
// when cut again), and a cancel stops the running calls upstream. Runs are inserted with SQL,
// as a run procedure would make them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';

import { fingerprint, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { initArgs, makeDataDir, runNyxgate, sleep, startServer } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

const TEMPLATE = 'Write a blog post for {{project.name}} from these notes.\n\n{{notes}}';

describe('the pipeline engine', () => {
  let pg;
  let mock;
  let shared;
  let token;
  let owner;
  let flags;
  let project;
  const nodes = new Set();
  const keys = [];

  const sql = (q) => execFileSync('psql', [pg.conninfo, '-Atc', q], { encoding: 'utf8' }).trim();
  const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;

  async function startNode(extra = []) {
    const node = await startServer({ init: false, extraFlags: [...flags, ...extra] });
    nodes.add(node);
    return node;
  }

  async function stopNode(node) {
    nodes.delete(node);
    await node.stop();
  }

  async function addKey(provider, behaviour) {
    const key = `sk-${behaviour}-pipeline-${randomBytes(6).toString('hex')}`;
    const row = await owner.mutation('apiKeys.create', { provider, name: `${provider} ${behaviour}`, key });
    keys.push(row.id);
    return { ...row, key, fp: fingerprint(key) };
  }

  /** A blog run of `n` items, one note each, titled `<tag> <i>`; returns {runId, items}. */
  async function createRun(tag, n) {
    const notes = [];
    for (let i = 0; i < n; i += 1) {
      const title = `${tag}-${i}`;
      const note = await owner.mutation('projects.notes.create', {
        projectId: project.id,
        title,
        body: `What happened in ${title}: the engine wrote about it in a post of its own.`,
      });
      notes.push({ id: note.id, title, body: note.body });
    }
    const input = JSON.stringify({ template: TEMPLATE, ethics: '', projectName: 'Engine', language: '' });
    const runId = sql(
      `INSERT INTO pipeline_runs (tenant_id, project_id, kind, input, created_by)
       SELECT t.id, ${quote(project.id)}, 'blog', ${quote(input)}::jsonb,
              (SELECT id FROM users WHERE email = 'ada@acme.test') FROM tenants t RETURNING id`,
    ).split('\n')[0];
    const values = notes
      .map((note, i) => `(${i}, ${quote(JSON.stringify({ notes: [note] }))}::jsonb)`)
      .join(', ');
    sql(
      `INSERT INTO pipeline_items (tenant_id, run_id, position, input)
       SELECT r.tenant_id, r.id, v.position, v.input FROM pipeline_runs r,
              (VALUES ${values}) AS v(position, input) WHERE r.id = ${quote(runId)}`,
    );
    sql(`SELECT pg_notify('nyxgate_pipeline_wake', ${quote(runId)})`);
    return { runId, notes };
  }

  async function runStatus(runId, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = sql(`SELECT status FROM pipeline_runs WHERE id = ${quote(runId)}`);
      if (status !== 'running' || Date.now() > deadline) return status;
      await sleep(100);
    }
  }

  const itemStatuses = (runId) =>
    sql(`SELECT status, count(*) FROM pipeline_items WHERE run_id = ${quote(runId)} GROUP BY status ORDER BY status`);

  /** The mock's chat calls per note title of `notes` (a call's prompt names its note). */
  function callsPerNote(notes) {
    const counts = new Map(notes.map((n) => [n.title, 0]));
    for (const r of mock.requests) {
      if (r.kind !== 'chat' || !r.body) continue;
      const text = JSON.stringify(r.body);
      for (const n of notes) if (text.includes(`## ${n.title}\\n`)) counts.set(n.title, counts.get(n.title) + 1);
    }
    return counts;
  }

  const chatCalls = () => mock.requests.filter((r) => r.kind === 'chat');

  before(async () => {
    pg = await startPostgres();
    mock = await startMockProviders({ slowMs: 1_500 });
    shared = await makeDataDir('nyxgate-e2e-pipelines-');
    writeFileSync(path.join(shared, 'master.key'), `1 ${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    flags = [
      `--database.url=${pg.conninfo}`,
      `--security.master_key_file=${path.join(shared, 'master.key')}`,
      `--tls.ca_file=${mock.caFile}`,
      ...providerFlags(mock.url),
      '--workflows.poll_ms=200',
      '--workflows.lease_s=3',
      '--gateway.retries=1',
      '--gateway.backoff_base_ms=20',
      '--circuit.failure_threshold=0',
    ];
    const tokenFile = path.join(shared, 'admin.token');
    const seeded = await runNyxgate([...initArgs(shared, { tokenFile }), `--database.url=${pg.conninfo}`]);
    assert.equal(seeded.code, 0, seeded.stderr);
    token = (await readFile(tokenFile, 'utf8')).trim();
  });

  afterEach(async () => {
    for (const node of [...nodes]) await stopNode(node);
    mock.resetCounters();
    mock.requests.length = 0;
  });

  after(async () => {
    for (const node of [...nodes]) await node.stop();
    await mock?.close();
    await pg?.stop();
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  /** A node, the admin's client on it, a project; `behaviour` keys for openai, then anthropic. */
  async function setUp(primary, fallback = null, defaults = {}) {
    const node = await startNode();
    owner = trpcClient(node.url, token);
    while (keys.length) await owner.mutation('apiKeys.delete', { id: keys.pop() });
    await owner.mutation('llmDefaults.update', {
      primary: 'openai',
      fallback: fallback ? 'anthropic' : null,
      maxTokens: 16384,
      ...defaults,
    });
    const slug = `engine-${randomBytes(4).toString('hex')}`;
    project = await owner.mutation('projects.create', { slug, name: 'Engine' });
    const p = await addKey('openai', primary);
    const f = fallback ? await addKey('anthropic', fallback) : null;
    return { node, primary: p, fallback: f };
  }

  it('20 blog items: the primary answers 402 after item 5, the fallback serves the rest', async () => {
    mock.configure({ exhaustAfter: 5 });
    const { primary } = await setUp('exhaust', 'good', {});
    const { runId, notes } = await createRun('seed', 20);
    assert.equal(await runStatus(runId), 'done', itemStatuses(runId));
    assert.equal(itemStatuses(runId), 'done|20');
    assert.equal(sql(`SELECT count(*) FROM blog_posts WHERE project_id = ${quote(project.id)}`), '20');
    assert.equal(
      sql(`SELECT count(DISTINCT output->>'postId') FROM pipeline_items WHERE run_id = ${quote(runId)}`),
      '20',
    );
    // Every post cites its note.
    assert.equal(
      sql(`SELECT count(*) FROM blog_post_sources s JOIN pipeline_items i ON i.output->>'postId' = s.post_id::text
           WHERE i.run_id = ${quote(runId)} AND i.input->'notes'->0->>'id' = s.note_id::text`),
      '20',
    );
    const calls = callsPerNote(notes);
    for (const [title, n] of calls) assert.ok(n >= 1, `${title} was never asked`);
    // Usage rows: one per item, naming the run and the item; the primary served 5, the
    // fallback the other 15.
    await mock.waitFor(() => sql(`SELECT count(*) FROM usage_events WHERE run_id = ${quote(runId)}`) === '20', 5000, 'usage rows');
    assert.equal(
      sql(`SELECT provider, fallback, count(*) FROM usage_events WHERE run_id = ${quote(runId)} AND status = 'ok'
           GROUP BY provider, fallback ORDER BY provider`),
      'anthropic|t|15\nopenai|f|5',
    );
    assert.equal(
      sql(`SELECT count(*) FROM usage_events u JOIN pipeline_items i ON i.id = u.item_id AND i.run_id = u.run_id
           WHERE u.run_id = ${quote(runId)} AND u.request_id = i.id::text`),
      '20',
    );
    assert.equal(
      sql(`SELECT count(*) FROM pipeline_items WHERE run_id = ${quote(runId)} AND fallback AND provider = 'anthropic'`),
      '15',
    );
    const row = (await owner.query('apiKeys.list')).find((k) => k.id === primary.id);
    assert.equal(row.status, 'cooldown');
    // The primary was asked 5 times with success and at most once more per item in flight when
    // its credits ran out; the key in cooldown is skipped after that.
    const primaryCalls = chatCalls().filter((r) => r.keyFingerprint === primary.fp).length;
    assert.ok(primaryCalls >= 6 && primaryCalls <= 5 + 8 * 2, `${primaryCalls} calls on the primary`);
  });

  it('kill -9 mid-run, then a restart: the run completes, at most one call more per item in flight', async () => {
    const { node } = await setUp('slow');
    const { runId, notes } = await createRun('kill', 12);
    await mock.waitFor(() => chatCalls().length >= 8, 20_000, 'eight calls in flight');
    await sleep(300);
    process.kill(node.pid, 'SIGKILL');
    await node.exited;
    nodes.delete(node);
    const inFlight = Number(sql(`SELECT count(*) FROM pipeline_items WHERE run_id = ${quote(runId)} AND status = 'running'`));
    const doneBefore = Number(sql(`SELECT count(*) FROM pipeline_items WHERE run_id = ${quote(runId)} AND status = 'done'`));
    assert.ok(inFlight > 0, 'items were in flight');
    await startNode();
    assert.equal(await runStatus(runId, 90_000), 'done', itemStatuses(runId));
    assert.equal(itemStatuses(runId), 'done|12');
    assert.equal(sql(`SELECT count(*) FROM blog_posts WHERE project_id = ${quote(project.id)}`), '12');
    const calls = callsPerNote(notes);
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    assert.ok(total <= 12 + inFlight, `${total} calls for 12 items, ${inFlight} in flight (${doneBefore} done) at the kill`);
    for (const [title, n] of calls) assert.ok(n >= 1 && n <= 2, `${title}: ${n} calls`);
  });

  it('two nodes sharing one run never process an item twice', async () => {
    mock.configure({ slowMs: 200 });
    try {
      await setUp('slow');
      await startNode();
      const { runId, notes } = await createRun('pair', 24);
      assert.equal(await runStatus(runId), 'done', itemStatuses(runId));
      const owners = sql(`SELECT count(DISTINCT request_id) FROM usage_events WHERE run_id = ${quote(runId)}`);
      assert.equal(owners, '24');
      for (const [title, n] of callsPerNote(notes)) assert.equal(n, 1, `${title}: ${n} calls`);
      assert.equal(sql(`SELECT count(*) FROM blog_posts WHERE project_id = ${quote(project.id)}`), '24');
      assert.equal(
        sql(`SELECT count(DISTINCT output->>'postId') FROM pipeline_items WHERE run_id = ${quote(runId)}`),
        '24',
      );
    } finally {
      mock.configure({ slowMs: 1_500 });
    }
  });

  it('a length answer is continued once; cut again, the item fails', async () => {
    // The mock echoes the prompt cut at max_tokens words: the blog prompt is longer than 10
    // words, the continuation's echo ("Continue exactly where you stopped, ...") is 10.
    await setUp('good', null, { maxTokens: 10 });
    const once = await createRun('cut-once', 2);
    assert.equal(await runStatus(once.runId), 'done', itemStatuses(once.runId));
    for (const [title, n] of callsPerNote(once.notes)) assert.equal(n, 2, `${title}: ${n} calls`);
    // Each post holds the cut answer followed by its continuation.
    const bodies = sql(
      `SELECT b.title || ' ' || b.body FROM blog_posts b JOIN pipeline_items i ON i.output->>'postId' = b.id::text
       WHERE i.run_id = ${quote(once.runId)} ORDER BY i.position`,
    );
    assert.equal((bodies.match(/echo: Continue exactly where you stopped/g) ?? []).length, 2, bodies);
    assert.equal((bodies.match(/echo: Write a blog post/g) ?? []).length, 2, bodies);
    const continuations = chatCalls().filter((r) => JSON.stringify(r.body).includes('Continue exactly where you stopped'));
    assert.equal(continuations.length, 2);
    for (const c of continuations) assert.ok(c.body.messages.some((m) => m.role === 'assistant' && m.content.startsWith('echo: ')));
    assert.equal(sql(`SELECT count(*) FROM pipeline_items WHERE run_id = ${quote(once.runId)} AND partial IS NOT NULL`), '0');

    await owner.mutation('llmDefaults.update', { maxTokens: 3 });
    await sleep(200);
    const twice = await createRun('cut-twice', 1);
    assert.equal(await runStatus(twice.runId), 'failed', itemStatuses(twice.runId));
    assert.match(sql(`SELECT error FROM pipeline_items WHERE run_id = ${quote(twice.runId)}`), /cut by the output limit again/);
    assert.equal(sql(`SELECT count(*) FROM blog_post_sources WHERE note_id = ${quote(twice.notes[0].id)}`), '0');
  });

  it('cancel: running calls are cancelled upstream, the rest marked cancelled', async () => {
    mock.configure({ slowMs: 10_000 });
    try {
      await setUp('slow');
      const { runId } = await createRun('cancel', 12);
      await mock.waitFor(() => chatCalls().filter((r) => r.outcome === 'pending').length >= 8, 20_000, 'eight calls');
      sql(`BEGIN; UPDATE pipeline_runs SET status = 'cancelled', finished_at = now() WHERE id = ${quote(runId)};
           UPDATE pipeline_items SET status = 'cancelled' WHERE run_id = ${quote(runId)} AND status = 'pending';
           SELECT pg_notify('nyxgate_pipeline_cancel', ${quote(runId)}); COMMIT;`);
      await mock.waitFor(() => chatCalls().every((r) => r.outcome === 'aborted'), 5_000, 'every call aborted');
      await mock.waitFor(() => itemStatuses(runId) === 'cancelled|12', 5_000, 'every item cancelled');
      assert.equal(sql(`SELECT count(*) FROM blog_posts WHERE project_id = ${quote(project.id)}`), '0');
      assert.equal(chatCalls().length, 8);
    } finally {
      mock.configure({ slowMs: 1_500 });
    }
  });
});
