// Prompt templates through the official @trpc/client against a real `nyxgate serve`
// (docs/workflows.md, "Templates in detail"): the built-in defaults, an admin's override that
// every member reads, a member's 403, a refused template (400 naming the problem and its line)
// that saves nothing, the reset with `body: null`, and another tenant that never sees the
// override.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { seedTenant, startServer, stopChecked } from './lib/server.mjs';
import { addMember, rejectsWith, trpcClient } from './lib/trpc.mjs';

const KINDS = ['blog', 'docs', 'keyPoints', 'translate'];
const MATERIAL = { blog: '{{notes}}', docs: '{{notes}}', keyPoints: '{{doc}}', translate: '{{doc}}' };

function byKind(list) {
  return Object.fromEntries(list.map((t) => [t.kind, t]));
}

describe('templates.get and templates.update with @trpc/client', () => {
  let srv;
  let owner;
  let member;
  let other;
  let defaults;
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

  it('lists every kind with its built-in default', async () => {
    const list = await owner.query('templates.get');
    assert.deepEqual(
      list.map((t) => t.kind),
      KINDS,
    );
    for (const t of list) {
      assert.deepEqual(Object.keys(t).sort(), ['body', 'isDefault', 'kind', 'updatedAt']);
      assert.equal(t.isDefault, true);
      assert.equal(t.updatedAt, null);
      assert.ok(t.body.includes('{{project.name}}'), `${t.kind} names the project`);
      assert.ok(t.body.includes(MATERIAL[t.kind]), `${t.kind} names its material`);
    }
    assert.ok(byKind(list).translate.body.includes('{{language}}'));
    assert.deepEqual(await owner.query('templates.get', {}), list);
    await rejectsWith(member.query('templates.get'), 'FORBIDDEN', 403, /admin/);
    defaults = byKind(list);
  });

  it('an admin saves an override that members read; a member cannot save one', async () => {
    const body = 'Write a post for {{ project.name }}.\n\n{{ethics}}\n\n{{notes}}\n';
    const saved = await owner.mutation('templates.update', { kind: 'blog', body });
    assert.equal(saved.kind, 'blog');
    assert.equal(saved.body, body);
    assert.equal(saved.isDefault, false);
    assert.match(saved.updatedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const seen = byKind(await owner.query('templates.get'));
    assert.deepEqual(seen.blog, saved);
    assert.deepEqual(seen.docs, defaults.docs);

    await rejectsWith(
      member.mutation('templates.update', { kind: 'blog', body: '{{notes}}' }),
      'FORBIDDEN',
      403,
      /admin/,
    );
    await rejectsWith(member.mutation('templates.update', { kind: 'blog', body: null }), 'FORBIDDEN', 403);
    assert.deepEqual(byKind(await owner.query('templates.get')).blog, saved);
  });

  it('a broken template is a BAD_REQUEST naming the problem and its line, and saves nothing', async () => {
    const before = await owner.query('templates.get');
    const cases = [
      ['Translate into {{language}}:\n{{foo}}', 'input.body: unknown variable {{foo}} at line 2'],
      ['{{doc}}\n\nInto {{language', 'input.body: {{ without a closing }} at line 3'],
      ['{{doc}} }}', 'input.body: }} without an opening {{ at line 1'],
      ['{{ {{doc}} }}', 'input.body: nested braces in {{ {{doc}} at line 1'],
      ['', 'input.body: empty template'],
    ];
    for (const [body, message] of cases) {
      const err = await rejectsWith(owner.mutation('templates.update', { kind: 'translate', body }), 'BAD_REQUEST', 400);
      assert.equal(err.message, message);
    }
    await rejectsWith(
      owner.mutation('templates.update', { kind: 'poem', body: '{{doc}}' }),
      'BAD_REQUEST',
      400,
      /^input\.kind/,
    );
    await rejectsWith(owner.mutation('templates.update', { kind: 'translate' }), 'BAD_REQUEST', 400, /^input\.body/);
    assert.deepEqual(await owner.query('templates.get'), before);
  });

  it('body null goes back to the default', async () => {
    await owner.mutation('templates.update', { kind: 'keyPoints', body: 'Key points of {{doc}}' });
    assert.equal(byKind(await owner.query('templates.get')).keyPoints.isDefault, false);
    const reset = await owner.mutation('templates.update', { kind: 'keyPoints', body: null });
    assert.deepEqual(reset, defaults.keyPoints);
    assert.deepEqual(byKind(await owner.query('templates.get')).keyPoints, defaults.keyPoints);
  });

  it("another tenant never sees the override, and its own stays its own", async () => {
    const seen = await other.query('templates.get');
    assert.deepEqual(seen, Object.values(defaults));
    const theirs = await other.mutation('templates.update', { kind: 'docs', body: 'Globex docs: {{notes}}' });
    assert.equal(byKind(await owner.query('templates.get')).docs.isDefault, true);
    assert.deepEqual(byKind(await other.query('templates.get')).docs, theirs);
    // The acme override of the blog template is untouched by globex's writes.
    assert.equal(byKind(await owner.query('templates.get')).blog.isDefault, false);
  });

  it('works through httpBatchLink: a query and a mutation in one batch each', async () => {
    const batched = trpcClient(srv.url, srv.token, { batch: true });
    const [list, saved] = await Promise.all([
      batched.query('templates.get'),
      batched.mutation('templates.update', { kind: 'translate', body: 'Into {{language}}:\n\n{{doc}}' }),
    ]);
    assert.equal(list.length, KINDS.length);
    assert.equal(saved.isDefault, false);
    assert.equal(byKind(await owner.query('templates.get')).translate.body, 'Into {{language}}:\n\n{{doc}}');
  });
});
