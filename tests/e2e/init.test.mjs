// `nyxgate init`: the first-install seed is idempotent, refuses conflicts, and hands the
// first token over safely (printed once, or written to a 0600 file).
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { TOKEN_RE, initArgs, makeDataDir, runNyxgate, startServer } from './lib/server.mjs';

const TOKEN_LINE_RE = /^token: (ngt_[A-Za-z0-9_-]+)$/m;

function describeRun(r) {
  return `exit ${r.code ?? r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

describe('nyxgate init with --token-file', () => {
  let dataDir;
  let tokenFile;
  let token;

  before(async () => {
    dataDir = await makeDataDir('nyxgate-e2e-init-');
    tokenFile = path.join(dataDir, 'admin.token');
  });

  after(async () => {
    if (dataDir && !process.env.NYXGATE_E2E_KEEP) await rm(dataDir, { recursive: true, force: true });
  });

  it('first run writes the token to a 0600 file and prints none', async () => {
    // Even under a permissive umask the file must be private.
    const r = await runNyxgate(initArgs(dataDir, { tokenFile }), { umask: 0o000 });
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(r.stdout.includes(`token written to ${tokenFile}`), describeRun(r));
    assert.doesNotMatch(r.stdout + r.stderr, TOKEN_RE, 'the token was printed');
    const content = await readFile(tokenFile, 'utf8');
    assert.match(content, /^ngt_[A-Za-z0-9_-]+\n$/);
    token = content.trim();
    const mode = (await stat(tokenFile)).mode & 0o777;
    assert.equal(mode, 0o600, `mode ${mode.toString(8)}`);
  });

  it('an identical rerun changes nothing and says so', async () => {
    assert.ok(token, 'needs the first run');
    const again = await runNyxgate(initArgs(dataDir, { tokenFile }));
    assert.equal(again.code, 0, describeRun(again));
    assert.match(again.stdout, /already initialized/i, describeRun(again));
    assert.doesNotMatch(again.stdout + again.stderr, TOKEN_RE);
    assert.equal(await readFile(tokenFile, 'utf8'), `${token}\n`, 'the token file changed');

    const withoutFile = await runNyxgate(initArgs(dataDir));
    assert.equal(withoutFile.code, 0, describeRun(withoutFile));
    assert.match(withoutFile.stdout, /already initialized/i, describeRun(withoutFile));
    assert.doesNotMatch(withoutFile.stdout + withoutFile.stderr, TOKEN_RE, 'a rerun printed a token');
  });

  it('a rerun with a different tenant name fails with exit 1', async () => {
    const r = await runNyxgate(initArgs(dataDir, { tenantName: 'Someone Else Ltd' }));
    assert.equal(r.code, 1, describeRun(r));
    assert.notEqual(r.stderr.trim(), '', 'no message on stderr');
    assert.doesNotMatch(r.stdout + r.stderr, TOKEN_RE);
  });

  it('a rerun with a different admin email fails with exit 1', async () => {
    const r = await runNyxgate(initArgs(dataDir, { adminEmail: 'mallory@acme.test' }));
    assert.equal(r.code, 1, describeRun(r));
    assert.notEqual(r.stderr.trim(), '', 'no message on stderr');
    assert.doesNotMatch(r.stdout + r.stderr, TOKEN_RE);
  });

  it('after the refused reruns, an identical rerun still succeeds', async () => {
    const r = await runNyxgate(initArgs(dataDir));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /already initialized/i);
  });
});

describe('nyxgate init without --token-file', () => {
  let dataDir;

  before(async () => {
    dataDir = await makeDataDir('nyxgate-e2e-init-');
  });

  after(async () => {
    if (dataDir && !process.env.NYXGATE_E2E_KEEP) await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the token once on stdout, never on stderr', async () => {
    const r = await runNyxgate(initArgs(dataDir, { tenantSlug: 'globex', adminName: undefined }));
    assert.equal(r.code, 0, describeRun(r));
    const m = TOKEN_LINE_RE.exec(r.stdout);
    assert.ok(m, `no "token: ngt_..." line\n${describeRun(r)}`);
    assert.ok(!r.stderr.includes(m[1]), 'the token reached stderr');
    assert.equal(r.stdout.split(m[1]).length - 1, 1, 'the token was printed more than once');

    const again = await runNyxgate(initArgs(dataDir, { tenantSlug: 'globex', adminName: undefined }));
    assert.equal(again.code, 0, describeRun(again));
    assert.match(again.stdout, /already initialized/i);
    assert.doesNotMatch(again.stdout + again.stderr, TOKEN_RE);
  });
});

describe('nyxgate init usage errors', () => {
  it('a missing --tenant-slug is refused with a message', async () => {
    const dataDir = await makeDataDir('nyxgate-e2e-init-');
    try {
      const args = initArgs(dataDir);
      const at = args.indexOf('--tenant-slug');
      args.splice(at, 2);
      const r = await runNyxgate(args);
      assert.notEqual(r.code, 0, describeRun(r));
      assert.match(r.stderr, /tenant-slug/, describeRun(r));
      assert.doesNotMatch(r.stdout + r.stderr, TOKEN_RE);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('nyxgate init beside a running serve', () => {
  let srv;

  before(async () => {
    srv = await startServer({ init: false });
  });

  after(async () => {
    if (srv) await srv.stop();
  });

  it('serve on an empty database says how to seed the first tenant', () => {
    const hint = srv
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((e) => /no tenant yet/.test(e.msg));
    assert.ok(hint, `no seeding hint in the log\n${srv.stderr()}`);
    assert.match(hint.msg, /nyxgate init --tenant-slug/);
  });

  it('seeds through the running server, idempotently, and the token works at once', async () => {
    const args = initArgs(srv.dataDir, { tenantSlug: 'beside', tokenFile: path.join(srv.dataDir, 'beside.token') });
    const r = await runNyxgate(args);
    assert.equal(r.code, 0, describeRun(r));
    const token = (await readFile(path.join(srv.dataDir, 'beside.token'), 'utf8')).trim();
    assert.match(token, TOKEN_RE);
    const res = await fetch(`${srv.url}/trpc/tenants.current`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    assert.equal(JSON.parse(body).result.data.slug, 'beside');

    const again = await runNyxgate(args);
    assert.equal(again.code, 0, describeRun(again));
    assert.match(again.stdout, /already initialized/i, describeRun(again));
    const conflict = await runNyxgate(initArgs(srv.dataDir, { tenantSlug: 'beside', tenantName: 'Other' }));
    assert.equal(conflict.code, 1, describeRun(conflict));
  });
});
