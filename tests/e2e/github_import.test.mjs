// projects.importGitHubCommits through the official @trpc/client against a real `nyxgate serve`
// whose GitHub base URL points at the HTTPS mock (lib/mock_providers.mjs): GitHub's Link pages
// followed, each commit a note once per project, `since`, `limit` and `more`, GitHub's 401
// (the token's key marked invalid), 404 and rate limit mapped, the personal token preferred
// over the tenant's, and a Link to another origin never followed (the token stays on the
// configured GitHub). No key value reaches a reply or the log.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { stopChecked, startServer } from './lib/server.mjs';
import { rejectsWith, trpcClient, UUID_RE } from './lib/trpc.mjs';

function suffix() {
  return Math.random().toString(36).slice(2, 12);
}

describe('projects.importGitHubCommits against a mocked GitHub', () => {
  let mock;
  let srv;
  let owner;
  const secrets = [];

  function keyValue(behaviour, who = 'tenant') {
    const k = `ghp-${behaviour}-${who}-e2e-${suffix()}`;
    secrets.push(k);
    return k;
  }

  async function githubKey(key, isPersonal = false) {
    return owner.mutation('apiKeys.create', { provider: 'github', name: 'github', key, isPersonal });
  }

  async function project(githubRepo) {
    return owner.mutation('projects.create', { slug: `p-${suffix()}`, name: 'Imported', ...(githubRepo ? { githubRepo } : {}) });
  }

  /** Every note of a project, following nextCursor. */
  async function allNotes(projectId) {
    const out = [];
    let cursor;
    do {
      const page = await owner.query('projects.notes.list', { projectId, limit: 100, ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  function githubCalls(key) {
    return mock.seen('github', key).filter((r) => r.path !== '/user');
  }

  before(async () => {
    mock = await startMockProviders({
      githubRepos: {
        'acme/big': { commits: 250 },
        'acme/app': { commits: 12 },
        'acme/empty': { commits: 0 },
        'acme/odd': {
          commits: [
            { message: `${'x'.repeat(350)}\n\nA very long first line.`, author: 'Grace Hopper', login: 'grace' },
            { message: '\nStarts with an empty line', author: 'Nobody', login: null },
          ],
        },
      },
    });
    srv = await startServer({ extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)] });
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets);
    if (mock) await mock.close();
  });

  beforeEach(async () => {
    if (!owner) return;
    for (const k of await owner.query('apiKeys.list')) await owner.mutation('apiKeys.delete', { id: k.id });
    mock.configure({ githubRateLimited: false, githubLinkBase: null });
  });

  it('follows the Link pages, makes each commit a note, and a second run imports nothing', async () => {
    const key = keyValue('good');
    await githubKey(key);
    const p = await project('acme/big');
    const first = await owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 1000 });
    assert.deepEqual(first, { imported: 250, skipped: 0, pages: 3, more: false });

    // Page 1 by name, then GitHub's own next links (by repository id), each with the token.
    const calls = githubCalls(key);
    assert.equal(calls.length, 3);
    assert.equal(calls[0].path, '/repos/acme/big/commits');
    assert.equal(calls[0].query, '?per_page=100');
    assert.match(calls[1].path, /^\/repositories\/\d+\/commits$/);
    assert.equal(new URLSearchParams(calls[1].query).get('page'), '2');
    assert.equal(new URLSearchParams(calls[2].query).get('page'), '3');
    assert.ok(calls.every((c) => c.auth === 'authorization-bearer'));

    const notes = await allNotes(p.id);
    assert.equal(notes.length, 250);
    const commits = mock.githubCommits('acme/big');
    assert.deepEqual(new Set(notes.map((n) => n.githubSha)), new Set(commits.map((c) => c.sha)));
    // Newest commit, newest note.
    assert.equal(notes[0].githubSha, commits[0].sha);
    const me = await owner.query('tenants.current');
    const newest = notes[0];
    assert.equal(newest.title, commits[0].message.split('\n')[0]);
    assert.ok(newest.body.startsWith(commits[0].message));
    assert.ok(newest.body.includes(commits[0].sha.slice(0, 7)), newest.body);
    assert.ok(newest.body.includes('Ada Lovelace (@ada)'), newest.body);
    assert.ok(newest.body.includes(commits[0].date), newest.body);
    assert.equal(newest.visibility, 'tenant');
    assert.equal(newest.authorId, me.user.id);
    assert.match(newest.id, UUID_RE);

    const again = await owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 1000 });
    assert.deepEqual(again, { imported: 0, skipped: 250, pages: 3, more: false });
    assert.equal((await allNotes(p.id)).length, 250);
  });

  it('stops at the limit and says there is more; the default limit is 100', async () => {
    await githubKey(keyValue('good'));
    const p = await project('acme/app');
    assert.deepEqual(await owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 5 }), {
      imported: 5,
      skipped: 0,
      pages: 1,
      more: true,
    });
    // A larger limit picks up where the notes end: the first five are skipped.
    assert.deepEqual(await owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 7 }), {
      imported: 2,
      skipped: 5,
      pages: 1,
      more: true,
    });
    assert.deepEqual(await owner.mutation('projects.importGitHubCommits', { projectId: p.id }), {
      imported: 5,
      skipped: 7,
      pages: 1,
      more: false,
    });
    const big = await project('acme/big');
    assert.deepEqual(await owner.mutation('projects.importGitHubCommits', { projectId: big.id }), {
      imported: 100,
      skipped: 0,
      pages: 1,
      more: true,
    });
    await rejectsWith(owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 1001 }), 'BAD_REQUEST', 400, /limit/);
    await rejectsWith(owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 0 }), 'BAD_REQUEST', 400, /limit/);
  });

  it('since: only the commits from then on', async () => {
    const key = keyValue('good');
    await githubKey(key);
    const p = await project('acme/app');
    const commits = mock.githubCommits('acme/app');
    const since = commits[3].date;
    const r = await owner.mutation('projects.importGitHubCommits', { projectId: p.id, since });
    assert.deepEqual(r, { imported: 4, skipped: 0, pages: 1, more: false });
    assert.equal(new URLSearchParams(githubCalls(key).at(-1).query).get('since'), since);
    assert.deepEqual(
      new Set((await allNotes(p.id)).map((n) => n.githubSha)),
      new Set(commits.slice(0, 4).map((c) => c.sha)),
    );
    await rejectsWith(
      owner.mutation('projects.importGitHubCommits', { projectId: p.id, since: 'yesterday' }),
      'BAD_REQUEST',
      400,
      /input\.since/,
    );
  });

  it('titles: the first line cut to 300 characters; an empty first line names the commit', async () => {
    await githubKey(keyValue('good'));
    const p = await project('acme/odd');
    assert.deepEqual(await owner.mutation('projects.importGitHubCommits', { projectId: p.id }), {
      imported: 2,
      skipped: 0,
      pages: 1,
      more: false,
    });
    const [long, empty] = mock.githubCommits('acme/odd');
    const notes = await allNotes(p.id);
    const bySha = new Map(notes.map((n) => [n.githubSha, n]));
    assert.equal(bySha.get(long.sha).title, 'x'.repeat(300));
    assert.ok(bySha.get(long.sha).body.includes('Grace Hopper (@grace)'));
    assert.equal(bySha.get(empty.sha).title, `Commit ${empty.sha.slice(0, 7)}`);
    assert.ok(bySha.get(empty.sha).body.includes('Nobody as'));
  });

  it("prefers the caller's personal token over the tenant's", async () => {
    const tenantKey = keyValue('good', 'tenant');
    const personalKey = keyValue('good', 'personal');
    await githubKey(tenantKey);
    await githubKey(personalKey, true);
    const p = await project('acme/app');
    await owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 3 });
    assert.equal(githubCalls(personalKey).length, 1);
    assert.equal(githubCalls(tenantKey).length, 0);
  });

  it('401: the token is marked invalid and the import fails with PRECONDITION_FAILED', async () => {
    const bad = keyValue('invalid');
    const row = await githubKey(bad);
    const p = await project('acme/app');
    const err = await rejectsWith(
      owner.mutation('projects.importGitHubCommits', { projectId: p.id }),
      'PRECONDITION_FAILED',
      412,
      /GitHub rejected the token \(401\)/,
    );
    assert.ok(!err.message.includes(bad));
    const listed = (await owner.query('apiKeys.list')).find((k) => k.id === row.id);
    assert.equal(listed.status, 'invalid');
    assert.match(listed.statusReason, /401/);
    // Resolution skips the invalid key from then on.
    await rejectsWith(owner.mutation('projects.importGitHubCommits', { projectId: p.id }), 'PRECONDITION_FAILED', 412, /no_github_token/);
    assert.equal(githubCalls(bad).length, 1);
  });

  it('404: a repository GitHub does not show the token is NOT_FOUND', async () => {
    await githubKey(keyValue('good'));
    const p = await project('acme/missing');
    await rejectsWith(
      owner.mutation('projects.importGitHubCommits', { projectId: p.id }),
      'NOT_FOUND',
      404,
      /acme\/missing not found or not visible to the token/,
    );
  });

  it('an empty repository (GitHub answers 409) imports nothing and is no error', async () => {
    await githubKey(keyValue('good'));
    const p = await project('acme/empty');
    const result = await owner.mutation('projects.importGitHubCommits', { projectId: p.id });
    assert.deepEqual(result, { imported: 0, skipped: 0, pages: 0, more: false });
    assert.deepEqual(await allNotes(p.id), []);
  });

  it('rate limit: TOO_MANY_REQUESTS with the reset time; the key stays active', async () => {
    const row = await githubKey(keyValue('good'));
    const p = await project('acme/app');
    mock.configure({ githubRateLimited: true });
    const before = Math.floor(Date.now() / 1000);
    const err = await rejectsWith(owner.mutation('projects.importGitHubCommits', { projectId: p.id }), 'TOO_MANY_REQUESTS', 429);
    const reset = /resets at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)/.exec(err.message)?.[1];
    assert.ok(reset, err.message);
    const resetS = Date.parse(reset) / 1000;
    assert.ok(resetS >= before + 3590 && resetS <= before + 3700, `reset ${reset}`);
    assert.equal((await owner.query('apiKeys.list')).find((k) => k.id === row.id).status, 'active');
    // A key GitHub rate-limits by itself (403 with x-ratelimit-remaining: 0) answers the same.
    mock.configure({ githubRateLimited: false });
    await owner.mutation('apiKeys.delete', { id: row.id });
    await githubKey(keyValue('ratelimit'));
    await rejectsWith(owner.mutation('projects.importGitHubCommits', { projectId: p.id }), 'TOO_MANY_REQUESTS', 429, /resets at/);
  });

  it('a Link to another origin is not followed: the token stays on the configured GitHub', async () => {
    const key = keyValue('good');
    await githubKey(key);
    const p = await project('acme/big');
    // localhost is the same mock under another name: following the link would reach it.
    mock.configure({ githubLinkBase: `https://localhost:${mock.port}` });
    const r = await owner.mutation('projects.importGitHubCommits', { projectId: p.id, limit: 1000 });
    assert.deepEqual(r, { imported: 100, skipped: 0, pages: 1, more: false });
    assert.equal(githubCalls(key).length, 1);
    assert.ok(mock.requests.every((q) => !q.host?.startsWith('localhost')), 'a request reached the other origin');
  });

  it('a project without githubRepo, a missing project, no GitHub key', async () => {
    const plain = await project(null);
    await rejectsWith(owner.mutation('projects.importGitHubCommits', { projectId: plain.id }), 'PRECONDITION_FAILED', 412, /githubRepo/);
    await rejectsWith(
      owner.mutation('projects.importGitHubCommits', { projectId: '00000000-0000-4000-8000-000000000000' }),
      'NOT_FOUND',
      404,
      /^input\.projectId: no such project$/,
    );
    const p = await project('acme/app');
    await rejectsWith(owner.mutation('projects.importGitHubCommits', { projectId: p.id }), 'PRECONDITION_FAILED', 412, /no_github_token/);
    await rejectsWith(
      owner.mutation('projects.importGitHubCommits', { projectId: p.id, tenantId: '00000000-0000-4000-8000-000000000000' }),
      'BAD_REQUEST',
      400,
    );
  });
});
