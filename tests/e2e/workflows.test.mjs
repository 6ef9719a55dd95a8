// Workflows from the procedures to the providers and back, through the official @trpc/client
// and the HTTPS mock: what the mock received shows the tenant's ethics text in every workflow
// call and another member's private note in none; a long doc becomes key points from one call
// per section and one merge; a run whose calls failed is rerun after the key is fixed, and only
// its failed items are called again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { startServer, stopChecked } from './lib/server.mjs';
import { addMember, trpcClient, trpcSubscriptionClient } from './lib/trpc.mjs';

const ETHICS = 'Cite only what the notes say; never invent figures.';
const PRIVATE = 'salary bands for the next review';

/** Follows a run's progress to its end; resolves with the last run. */
function finished(client, runId) {
  return new Promise((resolve, reject) => {
    let last;
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no end of the run: ${JSON.stringify(last)}`));
    }, 60_000);
    const sub = client.subscription('pipelines.onProgress', { runId }, {
      onData(run) {
        last = run;
      },
      onError(err) {
        clearTimeout(timer);
        reject(err);
      },
      onComplete() {
        clearTimeout(timer);
        resolve(last);
      },
    });
  });
}

describe('workflows through the procedures and the mock providers', () => {
  let mock;
  let srv;
  let owner;
  let live;
  let project;
  let keyId;
  const secrets = [];
  const goodKey = 'sk-good-workflows-0001';

  const chatsSince = (n) => mock.requests.slice(n).filter((r) => r.kind === 'chat');

  before(async () => {
    mock = await startMockProviders();
    srv = await startServer({
      extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url), '--workflows.context_chars=1000'],
    });
    secrets.push(srv.token, goodKey);
    owner = trpcClient(srv.url, srv.token);
    live = trpcSubscriptionClient(srv.url, srv.token);
    keyId = (await owner.mutation('apiKeys.create', { provider: 'openai', name: 'team', key: goodKey })).id;
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: null, ethics: ETHICS });
    project = (await owner.mutation('projects.create', { slug: 'flows', name: 'Flows' })).id;

    const added = await addMember(srv.url, owner, { email: 'mia@acme.test', name: 'Mia' });
    secrets.push(added.token);
    const mia = trpcClient(srv.url, added.token);
    await mia.mutation('projects.notes.create', { projectId: project, title: 'Private', body: PRIVATE, visibility: 'private' });
    await mia.mutation('projects.notes.create', { projectId: project, title: 'Beta', body: 'Forty teams joined the beta.' });
    await owner.mutation('projects.notes.create', { projectId: project, title: 'Pricing', body: 'One plan, billed monthly.' });
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets);
    if (mock) await mock.close();
  });

  it("a generated blog post: the ethics text in every call, another member's private note in none", async () => {
    const seen = mock.requests.length;
    const run = await owner.mutation('projects.blogPosts.generate', { projectId: project });
    const last = await finished(live, run.id);
    assert.equal(last.status, 'done', JSON.stringify(last));
    assert.equal(last.counts.done, 1);

    const calls = chatsSince(seen);
    assert.equal(calls.length, 1);
    for (const call of calls) {
      assert.deepEqual(call.body.messages[0], { role: 'system', content: ETHICS });
      assert.ok(JSON.stringify(call.body).includes('Forty teams joined the beta.'), 'a tenant note reached the prompt');
      assert.ok(!JSON.stringify(call.body).includes(PRIVATE), "another member's private note reached a prompt");
    }
    const posts = await owner.query('projects.blogPosts.list', { projectId: project });
    assert.equal(posts.items.length, 1);
    assert.equal(posts.items[0].status, 'draft');
    assert.equal(posts.items[0].sourceNoteIds.length, 2);
    const usage = await owner.query('pipelines.get', { id: run.id });
    assert.equal(usage.status, 'done');
  });

  it('key points of a long doc: one call per section, one merge, the ethics text in each', async () => {
    const sections = ['Goals', 'Plan', 'Risks', 'Budget'].map(
      (h, i) => `## ${h}\n\n${`Paragraph ${i} of the ${h.toLowerCase()} section says something worth keeping. `.repeat(8)}\n`,
    );
    const doc = await owner.mutation('projects.docs.create', { projectId: project, title: 'Plan 2027', body: sections.join('\n') });
    const seen = mock.requests.length;
    const run = await owner.mutation('pipelines.create', { projectId: project, kind: 'keyPoints', input: { docId: doc.id } });
    const last = await finished(live, run.id);
    assert.equal(last.status, 'done', JSON.stringify(last));

    const calls = chatsSince(seen);
    assert.ok(calls.length >= 3, `${calls.length} calls for a doc longer than two sections`);
    for (const call of calls) assert.deepEqual(call.body.messages[0], { role: 'system', content: ETHICS });
    // The last call merges what the section calls answered.
    const merge = JSON.stringify(calls.at(-1).body);
    for (const h of ['Goals', 'Budget']) assert.ok(merge.includes(h), `the merge lacks the ${h} section's points`);
    const docs = await owner.query('projects.docs.list', { projectId: project });
    assert.ok(docs.items.some((d) => d.title === 'Key points: Plan 2027'));
  });

  it('the key runs out of credits mid-run; after the fix a rerun calls only the failed items', async () => {
    const docs = [];
    for (const b of ['One', 'Two', 'Three'])
      docs.push((await owner.mutation('projects.docs.create', { projectId: project, title: `Doc ${b}`, body: `${b} body.` })).id);
    // The tenant's only key serves one call, then answers 402; no fallback is set.
    const exhausted = 'sk-exhaust-workflows-0002';
    secrets.push(exhausted);
    mock.configure({ exhaustAfter: 1 });
    await owner.mutation('apiKeys.replace', { id: keyId, key: exhausted });
    const seen = mock.requests.length;
    const run = await owner.mutation('pipelines.create', { projectId: project, kind: 'docs', input: { docIds: docs } });
    const failed = await finished(live, run.id);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.deepEqual([failed.counts.done, failed.counts.failed], [1, 2], JSON.stringify(failed));
    assert.ok(chatsSince(seen).length <= 3);
    const [key] = (await owner.query('apiKeys.list')).filter((k) => k.id === keyId);
    assert.equal(key.status, 'cooldown');

    await owner.mutation('apiKeys.replace', { id: keyId, key: goodKey });
    const before = mock.requests.length;
    const again = await owner.mutation('pipelines.rerun', { id: run.id });
    assert.equal(again.status, 'running');
    const done = await finished(live, run.id);
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.equal(done.counts.done, 3);
    assert.equal(chatsSince(before).length, 2, 'the rerun called the two failed items, not the done one');

    // Nothing is left to rerun: a second rerun calls nothing.
    const idle = mock.requests.length;
    await owner.mutation('pipelines.rerun', { id: run.id });
    assert.equal((await owner.query('pipelines.get', { id: run.id })).status, 'done');
    assert.equal(chatsSince(idle).length, 0);
  });
});
