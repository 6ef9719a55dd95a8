// A plain PostgreSQL 15 cluster for tests with several nodes on one external database.
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';

import { makeDataDir } from './server.mjs';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A plain PostgreSQL 15 cluster on a unix socket in a fresh folder (as `postgres` when root). */
export async function startPostgres() {
  const dir = await makeDataDir('nyxgate-e2e-pg-');
  const asRoot = process.getuid() === 0;
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const run = (cmd, args) =>
    execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const data = path.join(dir, 'data');
  run(`${PG_BIN}/initdb`, ['-D', data, '-U', 'nyxgate', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-c listen_addresses= -c unix_socket_directories=${dir} -c fsync=off -c max_connections=100`;
  run(`${PG_BIN}/pg_ctl`, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-o', options, 'start']);
  execFileSync('psql', [`host=${dir} user=nyxgate dbname=postgres`, '-qc', 'CREATE DATABASE nyxgate']);
  return {
    conninfo: `host=${dir} port=5432 user=nyxgate dbname=nyxgate`,
    async stop() {
      run(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

