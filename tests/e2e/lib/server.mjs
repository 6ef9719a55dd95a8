// Runs the real nyxgate binary for the end-to-end tests: `nyxgate init` on a fresh data
// folder, then `nyxgate serve` on a free port, with its stderr kept for assertions.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');

export const READY_TIMEOUT_MS = 60_000;
export const STOP_TIMEOUT_MS = 15_000;
export const INIT_TIMEOUT_MS = 120_000;

/** The binary under test: NYXGATE_BIN (set by ctest), else a local build. */
export function nyxgateBin() {
  const fromEnv = process.env.NYXGATE_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`NYXGATE_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  for (const flavour of ['asan', 'release']) {
    const candidate = path.join(repoRoot, 'build', flavour, 'nyxgate');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('no nyxgate binary: set NYXGATE_BIN or run ./scripts/build.sh');
}

/** A port nobody listens on right now (listen on 0, read it, close). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A fresh data folder; world-traversable so an embedded PostgreSQL run as another user can reach its subfolder. */
export async function makeDataDir(prefix = 'nyxgate-e2e-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Flags every child gets: the data folder and a fast, crash-unsafe embedded cluster. */
export function commonFlags(dataDir) {
  return [`--server.data_dir=${dataDir}`, '--database.embedded_fast_unsafe=true'];
}

const live = new Set();
process.on('exit', () => {
  // Last resort if a test file dies without stopping its server: let it stop its cluster.
  for (const child of live) child.kill('SIGTERM');
});

/**
 * Runs `nyxgate ARGS...` to completion. Resolves {code, signal, stdout, stderr}; never rejects
 * on a non-zero exit (tests assert on it). `umask` runs it under that umask.
 */
export async function runNyxgate(args, { timeoutMs = INIT_TIMEOUT_MS, umask } = {}) {
  const bin = nyxgateBin();
  const [cmd, argv] =
    umask === undefined
      ? [bin, args]
      : ['/bin/sh', ['-c', `umask ${umask.toString(8)} && exec "$0" "$@"`, bin, ...args]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [code, signal] = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve([c, s]));
    });
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
    live.delete(child);
  }
}

/** `nyxgate init` with the usual seed; `overrides` replaces any of its fields. */
export function initArgs(dataDir, overrides = {}) {
  const seed = {
    tenantSlug: 'acme',
    tenantName: 'Acme Inc',
    adminEmail: 'ada@acme.test',
    adminName: 'Ada Lovelace',
    tokenFile: undefined,
    ...overrides,
  };
  const args = ['init', '--tenant-slug', seed.tenantSlug, '--tenant-name', seed.tenantName];
  args.push('--admin-email', seed.adminEmail);
  if (seed.adminName !== undefined) args.push('--admin-name', seed.adminName);
  if (seed.tokenFile !== undefined) args.push('--token-file', seed.tokenFile);
  return [...args, ...commonFlags(dataDir)];
}

/** Seeds a second tenant with `nyxgate init` beside a running server; returns its owner's token. */
export async function seedTenant(srv, { slug = 'globex', name = 'Globex', email = 'hank@globex.test' } = {}) {
  const tokenFile = path.join(srv.dataDir, `${slug}.token`);
  const seeded = await runNyxgate(initArgs(srv.dataDir, { tenantSlug: slug, tenantName: name, adminEmail: email, tokenFile }));
  assert.equal(seeded.code, 0, seeded.stderr);
  return (await readFile(tokenFile, 'utf8')).trim();
}

export const TOKEN_RE = /ngt_[A-Za-z0-9_-]+/;

/**
 * Seeds a tenant with `nyxgate init`, then starts `nyxgate serve` and waits for /readyz.
 * Returns a handle: {url, port, dataDir, token, seed, stderr(), stop()}.
 *
 * `init: false` skips the seed (for a second node on another node's database, given through
 * `extraFlags`); the handle's `token` is then the `token` option (null if none).
 */
export async function startServer({ seed = {}, extraFlags = [], init = true, token: givenToken = null } = {}) {
  const dataDir = await makeDataDir();
  const tokenFile = path.join(dataDir, 'admin.token');
  const fullSeed = {
    tenantSlug: 'acme',
    tenantName: 'Acme Inc',
    adminEmail: 'ada@acme.test',
    adminName: 'Ada Lovelace',
    ...seed,
    tokenFile,
  };
  let token = givenToken;
  if (init) {
    const seeded = await runNyxgate(initArgs(dataDir, fullSeed));
    if (seeded.code !== 0) {
      throw new Error(
        `nyxgate init exited ${seeded.code ?? seeded.signal}\n${seeded.stdout}\n${seeded.stderr}`,
      );
    }
    token = (await readFile(tokenFile, 'utf8')).trim();
    if (!TOKEN_RE.test(token)) throw new Error(`init wrote no ngt_ token to ${tokenFile}`);
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    'serve',
    `--server.listen=127.0.0.1:${port}`,
    ...commonFlags(dataDir),
    '--server.header_timeout_ms=1000',
    ...extraFlags,
  ];
  const child = spawn(nyxgateBin(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  const stderrChunks = [];
  const stderrText = new StringDecoder('utf8');
  child.stderr.on('data', (chunk) => {
    stderrChunks.push(chunk);
    const s = stderrText.write(chunk);
    stderr += s;
    if (process.env.NYXGATE_E2E_VERBOSE) process.stderr.write(s);
  });
  const exited = new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: null, signal: null, error: err }));
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  const handle = {
    url,
    port,
    dataDir,
    token,
    seed: fullSeed,
    pid: child.pid,
    /** Everything the server wrote to stderr so far. */
    stderr: () => stderr,
    /** The same, as the bytes written (the text above has invalid UTF-8 replaced). */
    stderrBytes: () => Buffer.concat(stderrChunks),
    /** Resolves {code, signal} once the server has exited. */
    exited,
    /** SIGTERM, then wait up to STOP_TIMEOUT_MS; SIGKILL after that. Resolves {code, signal, ms, timedOut}. */
    async stop({ keepDataDir = !!process.env.NYXGATE_E2E_KEEP } = {}) {
      const started = Date.now();
      if (live.has(child)) child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
      });
      let result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      const timedOut = result === null;
      if (timedOut) {
        child.kill('SIGKILL');
        result = await exited;
      }
      if (!keepDataDir && !timedOut) await rm(dataDir, { recursive: true, force: true });
      return { ...result, ms: Date.now() - started, timedOut };
    },
  };

  try {
    await waitReady(url, exited);
  } catch (err) {
    await handle.stop({ keepDataDir: true });
    throw new Error(`${err.message}\n--- nyxgate stderr (tail) ---\n${tail(stderr, 60)}`);
  }
  return handle;
}

/** Polls GET /readyz until 200; fails early if the process exits. */
async function waitReady(url, exited) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let gone = null;
  exited.then((r) => (gone = r));
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (gone) throw new Error(`nyxgate serve exited early (${gone.code ?? gone.signal})`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`nyxgate serve not ready after ${READY_TIMEOUT_MS} ms (${last})`);
}

export function tail(text, lines) {
  return text.split('\n').slice(-lines).join('\n');
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Asserts the log holds none of `secrets` (tokens, keys). Returns the offending ones. */
export function leakedSecrets(log, secrets) {
  return secrets.filter((s) => s && log.includes(s));
}

/** Flags for a second node of `srv`'s deployment: its database and its master key file. */
export function sameDeploymentFlags(srv) {
  return [`--database.url=${embeddedConninfo(srv)}`, `--security.master_key_file=${path.join(srv.dataDir, 'master.key')}`];
}

/**
 * libpq conninfo of the embedded PostgreSQL a running node started under its data folder, read
 * from its "embedded postgres started" log line (the socket may live under /tmp when the data
 * folder is too deep); falls back to <dataDir>/postgres/run.
 */
export function embeddedConninfo(srv) {
  let socketDir = path.join(srv.dataDir, 'postgres', 'run');
  for (const line of srv.stderr().split('\n')) {
    try {
      const entry = JSON.parse(line);
      if (entry.msg === 'embedded postgres started' && entry.socket_dir) socketDir = entry.socket_dir;
    } catch {
      // not a JSON line
    }
  }
  const quoted = /[\s'\\]/.test(socketDir) ? `'${socketDir.replace(/[\\']/g, '\\$&')}'` : socketDir;
  return `host=${quoted} port=5432 user=nyxgate dbname=nyxgate`;
}

/** Runs `sql` with psql on the node's embedded PostgreSQL; its output, trimmed. */
export function psql(srv, sql) {
  return execFileSync('psql', [embeddedConninfo(srv), '-Atc', sql], { encoding: 'utf8' }).trim();
}

/** Stops `srv` and asserts a clean exit and that none of `secrets` reached its log. */
export async function stopChecked(srv, secrets = []) {
  const stopped = await srv.stop();
  assert.equal(stopped.code, 0, tail(srv.stderr(), 40));
  assert.deepEqual(leakedSecrets(srv.stderr(), secrets), [], 'a key or token reached the log');
}
