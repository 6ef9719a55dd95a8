// The control plane through the official @trpc/client (httpLink and httpBatchLink, no
// transformer) against a real `nyxgate serve` with an embedded PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { leakedSecrets, startServer, tail } from './lib/server.mjs';
import { UUID_RE, rejectsWith, trpcClient } from './lib/trpc.mjs';

describe('tRPC control plane with @trpc/client', () => {
  let srv;
  let owner; // httpLink client with the init token
  const secrets = []; // every token this file sees; none may reach the server's log

  before(async () => {
    srv = await startServer();
    secrets.push(srv.token);
    owner = trpcClient(srv.url, srv.token);
  });

  after(async () => {
    if (!srv) return;
    const stopped = await srv.stop();
    assert.equal(stopped.timedOut, false, `serve did not exit within 15 s of SIGTERM`);
    assert.equal(stopped.code, 0, `serve exit code\n${tail(srv.stderr(), 40)}`);
    assert.deepEqual(leakedSecrets(srv.stderr(), secrets), [], 'a token reached the log');
  });

  it('tenants.current over httpLink names the init tenant and its owner', async () => {
    const me = await owner.query('tenants.current');
    assert.match(me.id, UUID_RE);
    assert.equal(me.slug, srv.seed.tenantSlug);
    assert.equal(me.name, srv.seed.tenantName);
    assert.equal(me.role, 'owner');
    assert.match(me.user.id, UUID_RE);
    assert.equal(me.user.email, srv.seed.adminEmail);
    assert.equal(me.user.name, srv.seed.adminName);
  });

  it('httpBatchLink sends several queries in one request and splits the answers', async () => {
    const requests = [];
    const counting = (url, init) => {
      requests.push(String(url));
      return fetch(url, init);
    };
    const batch = trpcClient(srv.url, srv.token, { batch: true, fetch: counting });
    const [me, members, tokens] = await Promise.all([
      batch.query('tenants.current'),
      batch.query('members.list'),
      batch.query('tokens.list'),
    ]);
    assert.equal(requests.length, 1, `one HTTP request, got ${requests.join(' ')}`);
    assert.match(requests[0], /\/trpc\/tenants\.current,members\.list,tokens\.list\?batch=1/);
    assert.equal(me.slug, srv.seed.tenantSlug);
    assert.ok(members.some((m) => m.email === srv.seed.adminEmail && m.role === 'owner'));
    assert.ok(Array.isArray(tokens));
  });

  it('a batch with a failing call answers the others and rejects only that one', async () => {
    const batch = trpcClient(srv.url, srv.token, { batch: true });
    const [ok, bad] = await Promise.allSettled([
      batch.query('tenants.current'),
      batch.query('nope.nothing'),
    ]);
    assert.equal(ok.status, 'fulfilled');
    assert.equal(ok.value.slug, srv.seed.tenantSlug);
    assert.equal(bad.status, 'rejected');
    assert.equal(bad.reason.data?.code, 'NOT_FOUND');

    // On the wire: 207 and one entry per call.
    const res = await fetch(
      `${srv.url}/trpc/tenants.current,nope.nothing?batch=1&input=${encodeURIComponent('{}')}`,
      { headers: { authorization: `Bearer ${srv.token}` } },
    );
    assert.equal(res.status, 207);
    const body = await res.json();
    assert.equal(body.length, 2);
    assert.equal(body[0].result.data.slug, srv.seed.tenantSlug);
    assert.equal(body[1].error.data.code, 'NOT_FOUND');
    assert.equal(body[1].error.data.path, 'nope.nothing');
  });

  it('members.list shows the owner', async () => {
    const members = await owner.query('members.list');
    const me = members.find((m) => m.email === srv.seed.adminEmail);
    assert.ok(me, JSON.stringify(members));
    assert.equal(me.role, 'owner');
    assert.equal(me.name, srv.seed.adminName);
    assert.match(me.userId, UUID_RE);
    assert.ok(!Number.isNaN(Date.parse(me.createdAt)), `createdAt ${me.createdAt}`);
  });

  it('tokens: create, use, list without the secret, revoke, then refused', async () => {
    const created = await owner.mutation('tokens.create', { name: 'laptop' });
    assert.match(created.id, UUID_RE);
    assert.equal(created.name, 'laptop');
    assert.match(created.token, /^ngt_/);
    assert.ok(!Number.isNaN(Date.parse(created.createdAt)));
    secrets.push(created.token);

    const viaNew = trpcClient(srv.url, created.token);
    const me = await viaNew.query('tenants.current');
    assert.equal(me.slug, srv.seed.tenantSlug);
    assert.equal(me.role, 'owner');

    const listed = await owner.query('tokens.list');
    const entry = listed.find((t) => t.id === created.id);
    assert.ok(entry, 'the new token is listed');
    assert.equal(entry.name, 'laptop');
    assert.equal(entry.revokedAt, null);
    assert.ok(entry.lastUsedAt === null || !Number.isNaN(Date.parse(entry.lastUsedAt)));
    const text = JSON.stringify(listed);
    for (const s of secrets) assert.ok(!text.includes(s), 'tokens.list leaks a token');
    for (const t of listed) {
      assert.deepEqual(Object.keys(t).sort(), ['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt']);
    }

    assert.deepEqual(await owner.mutation('tokens.revoke', { id: created.id }), {
      id: created.id,
      revoked: true,
    });
    await rejectsWith(viaNew.query('tenants.current'), 'UNAUTHORIZED', 401);
    const after = (await owner.query('tokens.list')).find((t) => t.id === created.id);
    assert.ok(after?.revokedAt && !Number.isNaN(Date.parse(after.revokedAt)), 'revokedAt set');

    // The init token is unaffected.
    assert.equal((await owner.query('tenants.current')).role, 'owner');
  });

  it('tokens.revoke: unknown id is NOT_FOUND, a non-UUID is BAD_REQUEST', async () => {
    await rejectsWith(
      owner.mutation('tokens.revoke', { id: '00000000-0000-4000-8000-000000000000' }),
      'NOT_FOUND',
      404,
    );
    await rejectsWith(owner.mutation('tokens.revoke', { id: 'not-a-uuid' }), 'BAD_REQUEST', 400);
  });

  it('members: add, conflict on re-add, setRole, remove', async () => {
    const added = await owner.mutation('members.add', {
      email: 'grace@acme.test',
      name: 'Grace Hopper',
      role: 'member',
    });
    assert.match(added.userId, UUID_RE);
    assert.deepEqual(
      { email: added.email, name: added.name, role: added.role },
      { email: 'grace@acme.test', name: 'Grace Hopper', role: 'member' },
    );
    let members = await owner.query('members.list');
    assert.equal(members.find((m) => m.userId === added.userId)?.role, 'member');

    await rejectsWith(
      owner.mutation('members.add', { email: 'grace@acme.test', role: 'member' }),
      'CONFLICT',
      409,
    );

    assert.deepEqual(await owner.mutation('members.setRole', { memberId: added.userId, role: 'admin' }), {
      userId: added.userId,
      role: 'admin',
    });
    members = await owner.query('members.list');
    assert.equal(members.find((m) => m.userId === added.userId)?.role, 'admin');

    assert.deepEqual(await owner.mutation('members.remove', { memberId: added.userId }), {
      userId: added.userId,
      removed: true,
    });
    members = await owner.query('members.list');
    assert.ok(!members.some((m) => m.userId === added.userId), 'removed member still listed');
  });

  it('invites: members.add returns a code, invites.redeem trades it once for a first token', async () => {
    const anonymous = trpcClient(srv.url, null);
    const added = await owner.mutation('members.add', {
      email: 'katherine@acme.test',
      name: 'Katherine Johnson',
      role: 'member',
    });
    assert.match(added.invite.code, /^ngi_[A-Za-z0-9_-]{43}$/);
    secrets.push(added.invite.code);
    const ttlMs = Date.parse(added.invite.expiresAt) - Date.now();
    assert.ok(Math.abs(ttlMs - 7 * 24 * 3600 * 1000) < 60_000, `invite expires in ${ttlMs} ms`);
    // The code is not a token.
    await rejectsWith(trpcClient(srv.url, added.invite.code).query('tenants.current'), 'UNAUTHORIZED', 401);

    const redeemed = await anonymous.mutation('invites.redeem', { code: added.invite.code, name: 'Kathy' });
    assert.match(redeemed.token, /^ngt_/);
    secrets.push(redeemed.token);
    assert.equal(redeemed.role, 'member');
    assert.equal(redeemed.tenant.slug, srv.seed.tenantSlug);
    assert.deepEqual(redeemed.user, { id: added.userId, email: 'katherine@acme.test', name: 'Kathy' });
    const kathy = trpcClient(srv.url, redeemed.token);
    const me = await kathy.query('tenants.current');
    assert.equal(me.role, 'member');
    assert.equal(me.user.id, added.userId);
    assert.equal(me.user.name, 'Kathy');
    assert.equal((await kathy.query('tokens.list')).length, 1);

    // Single use; and a member who signed in gets no new code (tokens.create is theirs to use).
    await rejectsWith(anonymous.mutation('invites.redeem', { code: added.invite.code, name: 'Again' }), 'NOT_FOUND', 404);
    await rejectsWith(owner.mutation('members.invite', { memberId: added.userId }), 'PRECONDITION_FAILED', 412);
    // Only admins issue codes.
    const next = await owner.mutation('members.add', { email: 'dorothy@acme.test', role: 'member' });
    secrets.push(next.invite.code);
    await rejectsWith(kathy.mutation('members.invite', { memberId: next.userId }), 'FORBIDDEN', 403);

    // A fresh code replaces the previous one.
    const fresh = await owner.mutation('members.invite', { memberId: next.userId });
    secrets.push(fresh.invite.code);
    assert.equal(fresh.userId, next.userId);
    assert.notEqual(fresh.invite.code, next.invite.code);
    await rejectsWith(anonymous.mutation('invites.redeem', { code: next.invite.code, name: 'Dorothy' }), 'NOT_FOUND', 404);
    const dorothy = await anonymous.mutation('invites.redeem', { code: fresh.invite.code, name: 'Dorothy' });
    secrets.push(dorothy.token);
    assert.equal((await trpcClient(srv.url, dorothy.token).query('tenants.current')).user.email, 'dorothy@acme.test');

    await rejectsWith(anonymous.mutation('invites.redeem', { code: fresh.invite.code }), 'BAD_REQUEST', 400, /name/);
    await rejectsWith(anonymous.mutation('invites.redeem', { code: 'ngi_nope', name: 'X' }), 'NOT_FOUND', 404);
    await rejectsWith(
      owner.mutation('members.invite', { memberId: '00000000-0000-4000-8000-000000000000' }),
      'NOT_FOUND',
      404,
    );
    // Every other procedure still needs a token.
    await rejectsWith(anonymous.query('members.list'), 'UNAUTHORIZED', 401);
  });

  it('an owner may add and demote a second owner', async () => {
    const second = await owner.mutation('members.add', { email: 'linus@acme.test', role: 'owner' });
    assert.equal(second.role, 'owner');
    const demoted = await owner.mutation('members.setRole', { memberId: second.userId, role: 'member' });
    assert.deepEqual(demoted, { userId: second.userId, role: 'member' });
    await owner.mutation('members.remove', { memberId: second.userId });
  });

  it('the last owner can be neither demoted nor removed', async () => {
    const me = await owner.query('tenants.current');
    await rejectsWith(
      owner.mutation('members.setRole', { memberId: me.user.id, role: 'member' }),
      'PRECONDITION_FAILED',
      412,
    );
    await rejectsWith(
      owner.mutation('members.remove', { memberId: me.user.id }),
      'PRECONDITION_FAILED',
      412,
    );
    assert.equal((await owner.query('tenants.current')).role, 'owner');
  });

  it('members: unknown user is NOT_FOUND, a non-UUID is BAD_REQUEST', async () => {
    const nobody = '00000000-0000-4000-8000-000000000001';
    await rejectsWith(owner.mutation('members.setRole', { memberId: nobody, role: 'admin' }), 'NOT_FOUND', 404);
    await rejectsWith(owner.mutation('members.remove', { memberId: nobody }), 'NOT_FOUND', 404);
    await rejectsWith(owner.mutation('members.remove', { memberId: '42' }), 'BAD_REQUEST', 400);
  });

  it('bad input is BAD_REQUEST and the message names the field', async () => {
    await rejectsWith(
      owner.mutation('members.add', { email: 'x@acme.test', role: 'member', bogus: 1 }),
      'BAD_REQUEST',
      400,
      /bogus/,
    );
    await rejectsWith(owner.mutation('tokens.create', { name: 42 }), 'BAD_REQUEST', 400, /name/);
    await rejectsWith(owner.mutation('tokens.create', {}), 'BAD_REQUEST', 400, /name/);
    await rejectsWith(
      owner.mutation('members.add', { email: 'y@acme.test', role: 'emperor' }),
      'BAD_REQUEST',
      400,
      /role/,
    );
    await rejectsWith(owner.mutation('tokens.revoke', { id: 7 }), 'BAD_REQUEST', 400, /id/);
  });

  it('an unknown procedure is NOT_FOUND', async () => {
    await rejectsWith(owner.query('nope.nothing'), 'NOT_FOUND', 404);
    await rejectsWith(owner.mutation('tenants.nothing', {}), 'NOT_FOUND', 404);
  });

  it('a query called as a mutation is refused with a 4xx', async () => {
    let caught;
    await assert.rejects(owner.mutation('tenants.current'), (err) => (caught = err) !== undefined);
    const status = caught.data?.httpStatus ?? caught.meta?.response?.status;
    assert.ok(status >= 400 && status < 500, `status ${status}: ${caught.message}`);
  });

  it('no token or a wrong token is UNAUTHORIZED', async () => {
    await rejectsWith(trpcClient(srv.url, null).query('tenants.current'), 'UNAUTHORIZED', 401);
    await rejectsWith(
      trpcClient(srv.url, 'ngt_thisisnotatokenthisisnotatoken').query('members.list'),
      'UNAUTHORIZED',
      401,
    );
    await rejectsWith(trpcClient(srv.url, 'garbage').mutation('tokens.create', { name: 'x' }), 'UNAUTHORIZED', 401);
  });

  it('the log is JSON lines and holds no token', async () => {
    const log = srv.stderr();
    assert.deepEqual(leakedSecrets(log, secrets), [], 'a token reached the log');
    const lines = log.split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length > 0, 'serve logged nothing');
    for (const line of lines) {
      let entry;
      assert.doesNotThrow(() => (entry = JSON.parse(line)), `not JSON: ${line}`);
      assert.equal(typeof entry, 'object');
    }
    assert.ok(
      lines.some((l) => {
        const e = JSON.parse(l);
        return e.msg === 'listening' && e.port === srv.port;
      }),
      'no {"msg":"listening","port":N} line',
    );
  });
});
