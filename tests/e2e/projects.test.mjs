// Projects, notes, docs and blog posts through the official @trpc/client (httpLink and
// httpBatchLink) against a real `nyxgate serve`: every CRUD procedure of docs/projects.md, a
// second member who sees the tenant's data but not another member's private notes, a second
// tenant whose ids answer exactly as missing ids, and an infinite-query walk over nextCursor.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { seedTenant, startServer, stopChecked } from './lib/server.mjs';
import { UUID_RE, addMember, rejectsWith, trpcClient } from './lib/trpc.mjs';

const PROJECT_FIELDS = ['blogSlug', 'createdAt', 'description', 'githubRepo', 'id', 'name', 'slug', 'updatedAt'];
const NOTE_FIELDS = ['authorId', 'body', 'createdAt', 'githubSha', 'id', 'projectId', 'title', 'updatedAt', 'visibility'];
const DOC_FIELDS = ['body', 'createdAt', 'id', 'projectId', 'title', 'updatedAt'];
const POST_FIELDS = [
  'body',
  'createdAt',
  'id',
  'projectId',
  'publishedAt',
  'slug',
  'sourceNoteIds',
  'status',
  'title',
  'updatedAt',
];
const MISSING_ID = '00000000-0000-4000-8000-00000000beef';

/** Every item of an infinite query, following nextCursor the way useInfiniteQuery does. */
async function walkPages(client, path, input, limit) {
  const items = [];
  let cursor;
  let pages = 0;
  for (;;) {
    const page = await client.query(path, { ...input, limit, cursor });
    assert.deepEqual(Object.keys(page).sort(), ['items', 'nextCursor']);
    assert.ok(page.items.length <= limit);
    items.push(...page.items);
    pages += 1;
    if (page.nextCursor === null) return { items, pages };
    assert.equal(typeof page.nextCursor, 'string');
    cursor = page.nextCursor;
  }
}

describe('projects, notes, docs and blog posts with @trpc/client', () => {
  let srv;
  let owner; // admin of acme, httpLink
  let member; // a member of acme, httpLink
  let other; // the owner of a second tenant
  const secrets = [];

  before(async () => {
    srv = await startServer();
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
    const grace = await addMember(srv.url, owner, { email: 'grace@acme.test', name: 'Grace' });
    secrets.push(grace.token);
    member = trpcClient(srv.url, grace.token);
    const otherToken = await seedTenant(srv);
    secrets.push(otherToken);
    other = trpcClient(srv.url, otherToken);
  });

  after(async () => {
    if (srv) await stopChecked(srv, secrets);
  });

  it('projects: create, get, list, update and delete', async () => {
    const created = await member.mutation('projects.create', {
      slug: 'apollo',
      name: 'Apollo',
      githubRepo: 'acme/apollo',
      blogSlug: 'apollo-e2e',
    });
    assert.deepEqual(Object.keys(created).sort(), PROJECT_FIELDS);
    assert.match(created.id, UUID_RE);
    assert.equal(created.description, '');
    assert.ok(!Number.isNaN(Date.parse(created.createdAt)));
    assert.deepEqual(await owner.query('projects.get', { id: created.id }), created);
    const listed = await owner.query('projects.list', {});
    assert.ok(listed.items.some((p) => p.id === created.id));
    const updated = await member.mutation('projects.update', { id: created.id, name: 'Apollo 11', blogSlug: null });
    assert.equal(updated.name, 'Apollo 11');
    assert.equal(updated.blogSlug, null);
    assert.equal(updated.githubRepo, 'acme/apollo');
    await rejectsWith(member.mutation('projects.create', { slug: 'apollo', name: 'again' }), 'CONFLICT', 409, /input\.slug/);
    await rejectsWith(member.mutation('projects.delete', { id: created.id }), 'FORBIDDEN', 403);
    assert.deepEqual(await owner.mutation('projects.delete', { id: created.id }), { id: created.id, deleted: true });
    await rejectsWith(owner.query('projects.get', { id: created.id }), 'NOT_FOUND', 404, /^input\.id: no such project$/);
  });

  it('notes: tenant-wide but private ones, changed by their author or an admin', async () => {
    const project = await owner.mutation('projects.create', { slug: 'notes-e2e', name: 'Notes' });
    const shared = await member.mutation('projects.notes.create', { projectId: project.id, title: 'shared', body: 'hello' });
    assert.deepEqual(Object.keys(shared).sort(), NOTE_FIELDS);
    assert.equal(shared.visibility, 'tenant');
    const mine = await member.mutation('projects.notes.create', {
      projectId: project.id,
      title: 'mine',
      body: 'secret',
      visibility: 'private',
    });
    assert.deepEqual(
      (await member.query('projects.notes.list', { projectId: project.id })).items.map((n) => n.title),
      ['mine', 'shared'],
    );
    assert.deepEqual(
      (await owner.query('projects.notes.list', { projectId: project.id })).items.map((n) => n.title),
      ['shared'],
    );
    await rejectsWith(owner.mutation('projects.notes.update', { id: mine.id, title: 'x' }), 'NOT_FOUND', 404, /^input\.id: no such note$/);
    const ownersNote = await owner.mutation('projects.notes.create', { projectId: project.id, title: 'by ada', body: 'b' });
    await rejectsWith(member.mutation('projects.notes.update', { id: ownersNote.id, title: 'x' }), 'FORBIDDEN', 403);
    const edited = await owner.mutation('projects.notes.update', { id: shared.id, body: 'edited by an admin' });
    assert.equal(edited.body, 'edited by an admin');
    assert.equal(edited.authorId, shared.authorId);
  });

  it('docs: create, get, list with excerpts, update', async () => {
    const project = await owner.mutation('projects.create', { slug: 'docs-e2e', name: 'Docs' });
    const body = 'é'.repeat(300);
    const doc = await member.mutation('projects.docs.create', { projectId: project.id, title: 'Guide', body });
    assert.deepEqual(Object.keys(doc).sort(), DOC_FIELDS);
    assert.equal((await owner.query('projects.docs.get', { id: doc.id })).body, body);
    const listed = await owner.query('projects.docs.list', { projectId: project.id });
    assert.equal(listed.items.length, 1);
    assert.equal(listed.items[0].excerpt, 'é'.repeat(200));
    assert.equal(listed.items[0].body, undefined);
    const updated = await owner.mutation('projects.docs.update', { id: doc.id, title: 'Guide v2' });
    assert.equal(updated.title, 'Guide v2');
    assert.equal(updated.body, body);
  });

  it('blog posts: create with sources, unblogged, list, get, publish', async () => {
    const project = await owner.mutation('projects.create', { slug: 'blog-e2e', name: 'Blog', blogSlug: 'blog-e2e' });
    const a = await member.mutation('projects.notes.create', { projectId: project.id, title: 'a', body: 'a' });
    const b = await member.mutation('projects.notes.create', { projectId: project.id, title: 'b', body: 'b' });
    const post = await member.mutation('projects.blogPosts.create', {
      projectId: project.id,
      title: 'First Post!',
      body: '# Hello',
      sourceNoteIds: [a.id],
    });
    assert.deepEqual(Object.keys(post).sort(), POST_FIELDS);
    assert.equal(post.slug, 'first-post');
    assert.equal(post.status, 'draft');
    assert.equal(post.publishedAt, null);
    assert.deepEqual(post.sourceNoteIds, [a.id]);
    const second = await member.mutation('projects.blogPosts.create', { projectId: project.id, title: 'First post', body: 'x' });
    assert.equal(second.slug, 'first-post-2');
    await rejectsWith(
      member.mutation('projects.blogPosts.create', { projectId: project.id, title: 't', body: 'x', slug: 'first-post' }),
      'CONFLICT',
      409,
      /input\.slug/,
    );
    await rejectsWith(
      member.mutation('projects.blogPosts.create', { projectId: project.id, title: 't', body: 'x', sourceNoteIds: [MISSING_ID] }),
      'NOT_FOUND',
      404,
      /^input\.sourceNoteIds: no such note$/,
    );
    assert.deepEqual(
      (await owner.query('projects.blogPosts.unblogged', { projectId: project.id })).items.map((n) => n.id),
      [b.id],
    );
    const listed = await owner.query('projects.blogPosts.list', { projectId: project.id });
    assert.deepEqual(listed.items.map((p) => p.id), [second.id, post.id]);
    assert.deepEqual(await owner.query('projects.blogPosts.get', { id: post.id }), post);
    await rejectsWith(member.mutation('projects.blogPosts.publish', { id: post.id }), 'FORBIDDEN', 403);
    const published = await owner.mutation('projects.blogPosts.publish', { id: post.id });
    assert.equal(published.status, 'published');
    assert.ok(!Number.isNaN(Date.parse(published.publishedAt)));
    const again = await owner.mutation('projects.blogPosts.publish', { id: post.id });
    assert.equal(again.publishedAt, published.publishedAt);
  });

  it('another tenant gets NOT_FOUND exactly as for a missing id, and no input takes a tenantId', async () => {
    const project = await owner.mutation('projects.create', { slug: 'acme-only', name: 'Acme only' });
    const note = await owner.mutation('projects.notes.create', { projectId: project.id, title: 'n', body: 'b' });
    const doc = await owner.mutation('projects.docs.create', { projectId: project.id, title: 'd', body: 'b' });
    const post = await owner.mutation('projects.blogPosts.create', { projectId: project.id, title: 'p', body: 'b' });
    const calls = [
      ['query', 'projects.get', (id) => ({ id }), project.id],
      ['mutation', 'projects.update', (id) => ({ id, name: 'x' }), project.id],
      ['mutation', 'projects.delete', (id) => ({ id }), project.id],
      ['query', 'projects.notes.list', (id) => ({ projectId: id }), project.id],
      ['mutation', 'projects.notes.create', (id) => ({ projectId: id, title: 't', body: 'b' }), project.id],
      ['mutation', 'projects.notes.update', (id) => ({ id, title: 't' }), note.id],
      ['query', 'projects.docs.list', (id) => ({ projectId: id }), project.id],
      ['query', 'projects.docs.get', (id) => ({ id }), doc.id],
      ['mutation', 'projects.docs.create', (id) => ({ projectId: id, title: 't', body: 'b' }), project.id],
      ['mutation', 'projects.docs.update', (id) => ({ id, title: 't' }), doc.id],
      ['query', 'projects.blogPosts.list', (id) => ({ projectId: id }), project.id],
      ['query', 'projects.blogPosts.get', (id) => ({ id }), post.id],
      ['mutation', 'projects.blogPosts.create', (id) => ({ projectId: id, title: 't', body: 'b' }), project.id],
      ['query', 'projects.blogPosts.unblogged', (id) => ({ projectId: id }), project.id],
      ['mutation', 'projects.blogPosts.publish', (id) => ({ id }), post.id],
    ];
    for (const [kind, procedure, input, id] of calls) {
      const foreign = await rejectsWith(other[kind](procedure, input(id)), 'NOT_FOUND', 404);
      const missing = await rejectsWith(other[kind](procedure, input(MISSING_ID)), 'NOT_FOUND', 404);
      assert.equal(foreign.message, missing.message, procedure);
    }
    assert.equal((await owner.query('projects.get', { id: project.id })).name, 'Acme only');
    await rejectsWith(
      other.query('projects.notes.list', { projectId: project.id, tenantId: MISSING_ID }),
      'BAD_REQUEST',
      400,
      /tenantId/,
    );
  });

  it('an infinite-query walk over nextCursor with httpBatchLink; inserts between pages shift nothing', async () => {
    const batched = trpcClient(srv.url, srv.token, { batch: true });
    const project = await batched.mutation('projects.create', { slug: 'paged-e2e', name: 'Paged' });
    const created = [];
    for (let i = 0; i < 7; i += 1) {
      created.push(await batched.mutation('projects.notes.create', { projectId: project.id, title: `n${i}`, body: '' }));
    }
    const { items, pages } = await walkPages(batched, 'projects.notes.list', { projectId: project.id }, 3);
    assert.equal(pages, 3);
    assert.deepEqual(items.map((n) => n.id), created.map((n) => n.id).reverse());

    // Two pages asked in one batch, with a note written between the first page and the second.
    const [first, docs] = await Promise.all([
      batched.query('projects.notes.list', { projectId: project.id, limit: 2 }),
      batched.query('projects.docs.list', { projectId: project.id }),
    ]);
    assert.deepEqual(docs, { items: [], nextCursor: null });
    await batched.mutation('projects.notes.create', { projectId: project.id, title: 'late', body: '' });
    const second = await batched.query('projects.notes.list', { projectId: project.id, limit: 2, cursor: first.nextCursor });
    assert.deepEqual(second.items.map((n) => n.title), ['n4', 'n3']);
    await rejectsWith(
      batched.query('projects.notes.list', { projectId: project.id, cursor: 'not a cursor' }),
      'BAD_REQUEST',
      400,
      /^input\.cursor:/,
    );
  });
});
