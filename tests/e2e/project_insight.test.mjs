// projects.healthCheck, projects.stats and projects.overview through the official @trpc/client
// (httpLink and httpBatchLink) against a real `nyxgate serve` whose GitHub points at the HTTPS
// mock: the checks' verdicts (provider, GitHub token and repository, content), counts that
// leave out a colleague's private notes, the dashboard in one round trip, and NOT_FOUND for a
// missing project. No key value reaches a reply or the log.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { stopChecked, startServer } from './lib/server.mjs';
import { rejectsWith, trpcClient } from './lib/trpc.mjs';

function suffix() {
  return Math.random().toString(36).slice(2, 12);
}

/** name → status of a healthCheck reply. */
function verdicts(health) {
  return Object.fromEntries(health.checks.map((c) => [c.name, c.status]));
}

describe('project insight: healthCheck, stats, overview', () => {
  let mock;
  let srv;
  let owner;
  let member;
  let memberId;
  const secrets = [];

  function keyValue(prefix, behaviour) {
    const k = `${prefix}-${behaviour}-insight-${suffix()}`;
    secrets.push(k);
    return k;
  }

  before(async () => {
    mock = await startMockProviders({ githubRepos: { 'acme/app': { commits: 3 } } });
    srv = await startServer({ extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)] });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    const added = await owner.mutation('members.add', { email: 'grace@acme.test', name: 'Grace', role: 'member' });
    secrets.push(added.invite.code);
    const redeemed = await trpcClient(srv.url, null).mutation('invites.redeem', { code: added.invite.code, name: 'Grace' });
    secrets.push(redeemed.token);
    member = trpcClient(srv.url, redeemed.token);
    memberId = added.userId;
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets);
    if (mock) await mock.close();
  });

  it('healthCheck: provider, GitHub token and repository, content', async () => {
    const p = await owner.mutation('projects.create', { slug: `h-${suffix()}`, name: 'Health', githubRepo: 'acme/app' });
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: 'anthropic' });

    let h = await owner.query('projects.healthCheck', { id: p.id });
    assert.equal(h.projectId, p.id);
    assert.deepEqual(verdicts(h), { provider: 'fail', github_token: 'fail', github_repo: 'warn', content: 'warn' });
    for (const c of h.checks) assert.ok(c.reason.length > 0, `${c.name} has no reason`);
    assert.deepEqual(h.counts, { notes: 0, docs: 0, posts: 0 });
    assert.equal(h.lastActivityAt, p.updatedAt);

    const fallbackKey = keyValue('sk-ant', 'good');
    await owner.mutation('apiKeys.create', { provider: 'anthropic', name: 'fallback', key: fallbackKey });
    const githubKey = keyValue('ghp', 'good');
    await owner.mutation('apiKeys.create', { provider: 'github', name: 'github', key: githubKey });
    const note = await owner.mutation('projects.notes.create', { projectId: p.id, title: 'First', body: 'hello' });
    h = await owner.query('projects.healthCheck', { id: p.id });
    assert.deepEqual(verdicts(h), { provider: 'warn', github_token: 'ok', github_repo: 'ok', content: 'ok' });
    assert.match(h.checks.find((c) => c.name === 'provider').reason, /fallback anthropic/);
    assert.equal(h.lastActivityAt, note.updatedAt);
    assert.equal(mock.seen('github', githubKey).at(-1).path, '/repos/acme/app');

    await owner.mutation('apiKeys.create', { provider: 'openai', name: 'primary', key: keyValue('sk', 'good') });
    assert.equal(verdicts(await owner.query('projects.healthCheck', { id: p.id })).provider, 'ok');

    // The repository GitHub does not show: fail; GitHub rate-limited: warn, with the reset time.
    await owner.mutation('projects.update', { id: p.id, githubRepo: 'acme/gone' });
    h = await owner.query('projects.healthCheck', { id: p.id });
    assert.equal(verdicts(h).github_repo, 'fail');
    assert.match(h.checks.find((c) => c.name === 'github_repo').reason, /404/);
    mock.configure({ githubRateLimited: true });
    try {
      h = await owner.query('projects.healthCheck', { id: p.id });
    } finally {
      mock.configure({ githubRateLimited: false });
    }
    assert.equal(verdicts(h).github_repo, 'warn');
    assert.match(h.checks.find((c) => c.name === 'github_repo').reason, /resets at \d{4}-\d\d-\d\dT/);
    assert.ok(!JSON.stringify(h).includes(githubKey) && !JSON.stringify(h).includes(fallbackKey));

    // A personal github key is the one a member's check uses.
    const personal = keyValue('ghp', 'good-personal');
    await member.mutation('apiKeys.create', { provider: 'github', name: 'mine', key: personal, isPersonal: true });
    await owner.mutation('projects.update', { id: p.id, githubRepo: 'acme/app' });
    h = await member.query('projects.healthCheck', { id: p.id });
    assert.match(h.checks.find((c) => c.name === 'github_token').reason, /personal/);
    assert.equal(mock.seen('github', personal).length, 1);
  });

  it("stats and overview count the tenant's notes and the caller's private ones only", async () => {
    const p = await owner.mutation('projects.create', { slug: `s-${suffix()}`, name: 'Stats' });
    const shared = await owner.mutation('projects.notes.create', { projectId: p.id, title: 'Shared plan', body: 'one two three' });
    const mine = await owner.mutation('projects.notes.create', {
      projectId: p.id,
      title: 'Owner only',
      body: 'four five',
      visibility: 'private',
    });
    const theirs = await member.mutation('projects.notes.create', {
      projectId: p.id,
      title: 'Grace only',
      body: 'six seven eight nine',
      visibility: 'private',
    });
    const doc = await member.mutation('projects.docs.create', { projectId: p.id, title: 'Guide', body: 'g'.repeat(300) });
    // Posts: one published, one draft.
    const out = await owner.mutation('projects.blogPosts.create', { projectId: p.id, title: 'Out now', body: 'it shipped', slug: 'out' });
    await owner.mutation('projects.blogPosts.publish', { id: out.id });
    await member.mutation('projects.blogPosts.create', { projectId: p.id, title: 'Soon', body: 'not yet written', slug: 'soon' });

    const month = shared.createdAt.slice(0, 7);
    const ownerStats = await owner.query('projects.stats', { id: p.id });
    assert.deepEqual(ownerStats, {
      projectId: p.id,
      notes: 2,
      docs: 1,
      posts: { published: 1, draft: 1 },
      notesPerMonth: [{ month, count: 2 }],
      words: { notes: 2 + 3 + 2 + 2, docs: 1 + 1, posts: 2 + 2 + 1 + 3 },
    });
    const memberStats = await member.query('projects.stats', { id: p.id });
    assert.equal(memberStats.notes, 2);
    assert.equal(memberStats.words.notes, 2 + 3 + 2 + 4);

    // The dashboard in one round trip, over the batch link too.
    const batched = trpcClient(srv.url, srv.token, { batch: true });
    const [overview, stats] = await Promise.all([
      batched.query('projects.overview', { id: p.id }),
      batched.query('projects.stats', { id: p.id }),
    ]);
    assert.deepEqual(overview.stats, stats);
    assert.deepEqual(overview.project, await owner.query('projects.get', { id: p.id }));
    assert.deepEqual(
      overview.notes.map((n) => n.id),
      [mine.id, shared.id],
    );
    assert.deepEqual(overview.notes[0], mine);
    assert.ok(!overview.notes.some((n) => n.id === theirs.id));
    assert.equal(overview.docs.length, 1);
    assert.equal(overview.docs[0].id, doc.id);
    assert.equal(overview.docs[0].excerpt, 'g'.repeat(200));
    assert.equal(overview.docs[0].body, undefined);
    assert.deepEqual(
      overview.posts.map((x) => [x.slug, x.status]),
      [
        ['soon', 'draft'],
        ['out', 'published'],
      ],
    );
    const memberView = await member.query('projects.overview', { id: p.id, limit: 1 });
    assert.deepEqual(
      memberView.notes.map((n) => [n.id, n.authorId]),
      [[theirs.id, memberId]],
    );
    assert.equal(memberView.posts.length, 1);
  });

  it('a missing project is NOT_FOUND; inputs are checked', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const path of ['projects.healthCheck', 'projects.stats', 'projects.overview']) {
      await rejectsWith(owner.query(path, { id: missing }), 'NOT_FOUND', 404, /^input\.id: no such project$/);
      await rejectsWith(owner.query(path, { id: 'not-a-uuid' }), 'BAD_REQUEST', 400, /input\.id/);
      await rejectsWith(owner.query(path, { id: missing, userId: missing }), 'BAD_REQUEST', 400, /userId/);
    }
    await rejectsWith(owner.query('projects.overview', { id: missing, limit: 21 }), 'BAD_REQUEST', 400, /limit/);
  });
});
