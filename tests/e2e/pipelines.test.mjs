// Workflow runs through the official @trpc/client: projects.blogPosts.generate and
// pipelines.create make runs with the right counts, pipelines.list pages them, and
// pipelines.onProgress, consumed by httpSubscriptionLink, streams a run's counts at every
// change to the end of the run; another tenant's run is NOT_FOUND through the same link.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';


import WebSocket from 'ws';

import { psql, seedTenant, startServer, stopChecked } from './lib/server.mjs';
import { UUID_RE, rejectsWith, trpcClient, trpcSubscriptionClient } from './lib/trpc.mjs';

const RUN_FIELDS = ['counts', 'createdAt', 'finishedAt', 'id', 'kind', 'projectId', 'status', 'updatedAt'];
const COUNT_FIELDS = ['cancelled', 'done', 'failed', 'pending', 'running', 'truncated'];

/**
 * Subscribes to a run's progress; resolves with every run received once the stream completes,
 * rejects on the subscription's error. `onRun` sees each run as it arrives.
 */
function progressOf(client, runId, onRun = () => {}) {
  return new Promise((resolve, reject) => {
    const runs = [];
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no end of the run after ${JSON.stringify(runs)}`));
    }, 30_000);
    const sub = client.subscription('pipelines.onProgress', { runId }, {
      onData(run) {
        runs.push(run);
        onRun(run, runs.length);
      },
      onError(err) {
        clearTimeout(timer);
        reject(err);
      },
      onComplete() {
        clearTimeout(timer);
        resolve(runs);
      },
    });
  });
}

describe('pipeline runs with @trpc/client', () => {
  let srv;
  let owner;
  let live;
  let other;
  let project;
  const secrets = [];

  before(async () => {
    srv = await startServer();
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    live = trpcSubscriptionClient(srv.url, srv.token);
    const otherToken = await seedTenant(srv);
    secrets.push(otherToken);
    other = trpcSubscriptionClient(srv.url, otherToken);
    project = (await owner.mutation('projects.create', { slug: 'site', name: 'Site' })).id;
    for (const title of ['Launch', 'Pricing'])
      await owner.mutation('projects.notes.create', { projectId: project, title, body: `${title} notes` });
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets);
  });

  it('generates a blog run from the unblogged notes and lists it', async () => {
    const run = await owner.mutation('projects.blogPosts.generate', { projectId: project });
    assert.deepEqual(Object.keys(run).sort(), RUN_FIELDS);
    assert.deepEqual(Object.keys(run.counts).sort(), COUNT_FIELDS);
    assert.match(run.id, UUID_RE);
    assert.equal(run.kind, 'blog');
    assert.equal(run.counts.pending + run.counts.running + run.counts.failed + run.counts.done, 1);
    const page = await owner.query('pipelines.list', { projectId: project, limit: 1 });
    assert.equal(page.items[0].id, run.id);
    const docs = await owner.mutation('pipelines.create', { projectId: project, kind: 'docs', input: {} });
    assert.equal(docs.kind, 'docs');
    const both = await owner.query('pipelines.list', {});
    assert.deepEqual(both.items.map((r) => r.id), [docs.id, run.id]);
    await rejectsWith(
      owner.mutation('pipelines.create', { projectId: project, kind: 'translate', input: { docId: run.id } }),
      'BAD_REQUEST',
      400,
      /input\.input\.language/,
    );
  });

  it('streams a run through httpSubscriptionLink to its end', async () => {
    // A run that no engine touches: the test moves it on.
    const runId = leasedRun(2);
    const notify = `; NOTIFY nyxgate_pipeline_progress, '${runId}'`;
    const runs = await progressOf(live, runId, (run, n) => {
      if (n === 1) psql(srv, `UPDATE pipeline_items SET status = 'done' WHERE run_id = '${runId}' AND position = 0${notify}`);
      if (n === 2)
        psql(
          srv,
          `UPDATE pipeline_items SET status = 'done' WHERE run_id = '${runId}'; UPDATE pipeline_runs SET status = 'done', finished_at = now() WHERE id = '${runId}'${notify}`,
        );
    });
    assert.deepEqual(
      runs.map((r) => [r.status, r.counts.running, r.counts.done]),
      [
        ['running', 2, 0],
        ['running', 1, 1],
        ['done', 0, 2],
      ],
    );
    assert.ok(runs.every((r) => r.id === runId));
    assert.notEqual(runs[2].finishedAt, null);
  });

  it('follows a generated run through the engine to its end', async () => {
    // No provider key in this tenant: the engine fails the item, which ends the run.
    await owner.mutation('projects.notes.create', { projectId: project, title: 'Roadmap', body: 'Next' });
    const run = await owner.mutation('projects.blogPosts.generate', { projectId: project });
    const runs = await progressOf(live, run.id);
    assert.ok(runs.length >= 1);
    const last = runs.at(-1);
    assert.equal(last.id, run.id);
    assert.notEqual(last.status, 'running');
    assert.notEqual(last.finishedAt, null);
    assert.equal(last.counts.pending + last.counts.running + last.counts.truncated, 0);
    assert.deepEqual(await owner.query('pipelines.get', { id: run.id }), last);
  });

  /** A run no engine touches: `n` items leased by another node for an hour. */
  function leasedRun(n) {
    const runId = psql(
      srv,
      `INSERT INTO pipeline_runs (tenant_id, project_id, kind) SELECT tenant_id, id, 'docs' FROM projects WHERE id = '${project}' RETURNING id`,
    ).split('\n')[0];
    psql(
      srv,
      `INSERT INTO pipeline_items (tenant_id, run_id, position, input, status, owner, lease_until) SELECT tenant_id, id, g, '{}', 'running', 'elsewhere', now() + interval '1 hour' FROM pipeline_runs, generate_series(0, ${n - 1}) g WHERE id = '${runId}'`,
    );
    return runId;
  }

  it('sends pipeline.progress events on /v1/ws to the end of the run', async () => {
    const runId = leasedRun(1);
    const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/ws`, {
      headers: { authorization: `Bearer ${srv.token}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const events = [];
    const finished = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no end: ${JSON.stringify(events)}`)), 20_000);
      ws.on('message', (data) => {
        const ev = JSON.parse(String(data));
        events.push(ev);
        if (ev.type === 'pipeline.progress' && ev.run.status === 'running')
          psql(
            srv,
            `UPDATE pipeline_items SET status = 'done' WHERE run_id = '${runId}'; UPDATE pipeline_runs SET status = 'done', finished_at = now() WHERE id = '${runId}'; NOTIFY nyxgate_pipeline_progress, '${runId}'`,
          );
        if (ev.type === 'error' || ev.run?.status === 'done') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    ws.send(JSON.stringify({ type: 'pipeline.subscribe', runId }));
    await finished;
    assert.deepEqual(
      events.map((e) => [e.type, e.run?.status, e.run?.counts.done]),
      [
        ['pipeline.progress', 'running', 0],
        ['pipeline.progress', 'done', 1],
      ],
    );
    // Another tenant's run, through the same socket protocol: an error naming the run.
    const missing = new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
    ws.send(JSON.stringify({ type: 'pipeline.subscribe', runId: '00000000-0000-4000-8000-000000000000' }));
    const err = await missing;
    assert.equal(err.type, 'error');
    assert.equal(err.error.code, 'not_found');
    ws.close();
  });

  it('answers another tenant exactly as a missing run, as the link expects', async () => {
    const run = await owner.mutation('pipelines.create', { projectId: project, kind: 'docs', input: {} });
    const theirs = other;
    const err = await progressOf(theirs, run.id).then(
      () => assert.fail('the subscription completed'),
      (e) => e,
    );
    const missing = await progressOf(theirs, '00000000-0000-4000-8000-000000000000').then(
      () => assert.fail('the subscription completed'),
      (e) => e,
    );
    assert.equal(err.data?.code, 'NOT_FOUND');
    assert.equal(err.data?.httpStatus, 404);
    assert.equal(err.message, 'input.runId: no such run');
    assert.equal(missing.message, err.message);
  });
});
