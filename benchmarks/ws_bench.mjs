// WebSocket load benchmark for GET /v1/ws (run through ws_bench.sh, which raises the
// file-descriptor limit first):
//   idle     N authenticated sockets held open at once: nyxgate's RSS per socket
//   streams  S concurrent chat streams of C chunks, D ms apart, from the C++ mock upstream:
//            per-chunk lateness through nyxgate (WebSocket) beside the same streams read
//            straight from a plain-HTTP twin of the mock (SSE), in the same run; errors
// Prints a markdown report and writes it to benchmarks/results/ws-<date>-<commit>.md.
//
// Environment: IDLE_SOCKETS=10000 STREAMS=2000 STREAMS_PER_SOCKET=10 CHUNKS=20 CHUNK_DELAY_MS=20
//   BUILD_DIR=build/release RESULTS=benchmarks/results/ws-DATE-COMMIT.md
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import WebSocket from '../tests/e2e/node_modules/ws/wrapper.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const buildDir = path.resolve(repo, process.env.BUILD_DIR ?? 'build/release');
const nyxgateBin = process.env.NYXGATE_BIN ?? path.join(buildDir, 'nyxgate');
const mockBin = process.env.MOCK_BIN ?? path.join(buildDir, 'benchmarks/nyxgate_mock_upstream');
const IDLE = Number(process.env.IDLE_SOCKETS ?? 10_000);
const STREAMS = Number(process.env.STREAMS ?? 2_000);
const PER_SOCKET = Number(process.env.STREAMS_PER_SOCKET ?? 10);
const CHUNKS = Number(process.env.CHUNKS ?? 20);
const DELAY = Number(process.env.CHUNK_DELAY_MS ?? 20);
const commit = (() => {
  try {
    return execFileSync('git', ['-C', here, 'rev-parse', '--short=7', 'HEAD']).toString().trim();
  } catch {
    return 'unknown';
  }
})();
const stamp = `${new Date().toISOString().slice(0, 10)}-${commit}`;
const results = process.env.RESULTS ?? path.join(here, 'results', `ws-${stamp}.md`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('ws_bench:', ...a);
const children = [];
const work = mkdtempSync(path.join(os.tmpdir(), 'nyxgate-wsbench-'));
chmodSync(work, 0o755); // the embedded PostgreSQL runs as another user and must reach it

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
process.on('exit', () => {
  cleanup();
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitHttp(url, seconds) {
  for (let i = 0; i < seconds * 10; i += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

function rss(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function stats(values) {
  const s = Float64Array.from(values).sort();
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), p999: percentile(s, 99.9), max: s.at(-1) };
}

async function startMock(plain, certs) {
  const portFile = path.join(work, plain ? 'mock-plain.port' : 'mock.port');
  const args = ['--listen', '127.0.0.1:0', '--threads', '1', '--port-file', portFile, '--chunks', String(CHUNKS), '--chunk-delay-ms', String(DELAY)];
  if (plain) args.push('--plain');
  else args.push('--tls-cert', certs.cert, '--tls-key', certs.key);
  const child = spawn(mockBin, args, { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 50 && !existsSync(portFile); i += 1) await sleep(100);
  await sleep(100);
  return Number(readFileSync(portFile, 'utf8').trim());
}

function makeCerts() {
  const dir = path.join(work, 'certs');
  mkdirSync(dir);
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=bench CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem']);
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

async function startNyxgate(mockPort, certs) {
  const data = path.join(work, 'nyxgate');
  mkdirSync(data);
  chmodSync(data, 0o755);
  const common = [`--server.data_dir=${data}`, '--database.embedded_fast_unsafe=true'];
  execFileSync(nyxgateBin, ['init', '--tenant-slug', 'bench', '--tenant-name', 'Bench', '--admin-email', 'bench@bench.test', '--admin-name', 'Bench', '--token-file', path.join(data, 'admin.token'), ...common], { stdio: 'ignore' });
  const token = readFileSync(path.join(data, 'admin.token'), 'utf8').trim();
  const port = await freePort();
  const child = spawn(
    nyxgateBin,
    ['serve', ...common, `--server.listen=127.0.0.1:${port}`, '--server.threads=2', '--server.max_connections=30000', `--providers.openai.base_url=https://127.0.0.1:${mockPort}`, `--tls.ca_file=${certs.ca}`, '--websocket.max_streams=64', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}/readyz`, 60);
  const trpc = async (proc, input) => {
    const r = await fetch(`${base}/trpc/${proc}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(input) });
    if (!r.ok) throw new Error(`${proc}: HTTP ${r.status} ${await r.text()}`);
  };
  await trpc('apiKeys.create', { provider: 'openai', name: 'bench', key: 'sk-bench-upstream-key-0001' });
  await trpc('llmDefaults.update', { primary: 'openai', fallback: null });
  return { child, port, base, token };
}

async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

function openSocket(port, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

// ---- phase 1: idle sockets ---------------------------------------------------------------
async function idlePhase(nyx) {
  const before = rss(nyx.child.pid);
  const sockets = [];
  let failed = 0;
  const started = Date.now();
  for (let i = 0; i < IDLE; i += 200) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(200, IDLE - i) }, () => openSocket(nyx.port, nyx.token)));
    for (const r of batch) r.status === 'fulfilled' ? sockets.push(r.value) : (failed += 1);
  }
  const openMs = Date.now() - started;
  await sleep(1000);
  const open = await metric(nyx.base, 'nyxgate_ws_open_sockets');
  const after = rss(nyx.child.pid);
  // Every socket still answers a ping with a pong.
  let pongs = 0;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          const t = setTimeout(resolve, 10_000);
          ws.once('message', (d) => {
            if (JSON.parse(d.toString()).type === 'pong') pongs += 1;
            clearTimeout(t);
            resolve();
          });
          ws.send('{"type":"ping"}');
        }),
    ),
  );
  for (const ws of sockets) ws.terminate();
  for (let i = 0; i < 100 && (await metric(nyx.base, 'nyxgate_ws_open_sockets')) > 0; i += 1) await sleep(100);
  return { sockets: sockets.length, failed, open, openMs, before, after, perSocket: (after - before) / Math.max(1, sockets.length), pongs };
}

// ---- phase 2: streams --------------------------------------------------------------------
/** Wall-clock now in ms with sub-ms precision (the mock stamps chunks with its wall clock). */
const wallNow = () => performance.timeOrigin + performance.now();

/** A chunk's delivery latency in ms: now minus the send time the mock wrote into its content. */
function latencyOf(content, now) {
  const at = content.lastIndexOf('@');
  return at < 0 ? null : now - Number(content.slice(at + 1)) / 1000;
}

const chatBody = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });

async function directPhase(plainPort) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const late = [];
  const firsts = [];
  let errors = 0;
  let incomplete = 0;
  const one = () =>
    new Promise((resolve) => {
      const t0 = wallNow();
      const arrivals = [];
      const req = http.request(
        { host: '127.0.0.1', port: plainPort, path: '/v1/chat/completions', method: 'POST', agent, headers: { authorization: 'Bearer sk-bench', 'content-type': 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) errors += 1;
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            const now = wallNow();
            buf += d;
            let at;
            while ((at = buf.indexOf('\n\n')) >= 0) {
              const ev = buf.slice(0, at);
              buf = buf.slice(at + 2);
              if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
              const content = JSON.parse(ev.slice(6)).choices?.[0]?.delta?.content;
              if (content) arrivals.push([now, latencyOf(content, now)]);
            }
          });
          res.on('end', () => {
            if (arrivals.length !== CHUNKS) incomplete += 1;
            if (arrivals.length) firsts.push(arrivals[0][0] - t0);
            for (const [, l] of arrivals) if (l !== null) late.push(l);
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(chatBody);
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: STREAMS }, one));
  agent.destroy();
  return { late: stats(late), first: stats(firsts), errors, incomplete, ms: performance.now() - started };
}

async function nyxgatePhase(nyx) {
  const sockets = await Promise.all(Array.from({ length: Math.ceil(STREAMS / PER_SOCKET) }, () => openSocket(nyx.port, nyx.token)));
  const late = [];
  const firsts = [];
  let errors = 0;
  let incomplete = 0;
  const started = performance.now();
  await Promise.all(
    sockets.map(
      (ws, s) =>
        new Promise((resolve) => {
          const streams = new Map();
          const n = Math.min(PER_SOCKET, STREAMS - s * PER_SOCKET);
          let left = n;
          ws.on('message', (data) => {
            const now = wallNow();
            const ev = JSON.parse(data.toString());
            const st = streams.get(ev.id);
            if (!st) return;
            if (ev.type === 'delta') {
              const content = ev.chunk.choices?.[0]?.delta?.content;
              if (content) st.arrivals.push([now, latencyOf(content, now)]);
              return;
            }
            if (ev.type === 'error') errors += 1;
            if (ev.type === 'done' || ev.type === 'error') {
              if (st.arrivals.length !== CHUNKS) incomplete += 1;
              if (st.arrivals.length) firsts.push(st.arrivals[0][0] - st.t0);
              for (const [, l] of st.arrivals) if (l !== null) late.push(l);
              if (--left === 0) resolve();
            }
          });
          ws.on('close', () => {
            if (left > 0) errors += left;
            resolve();
          });
          for (let i = 0; i < n; i += 1) {
            const id = `s${s}-${i}`;
            streams.set(id, { t0: wallNow(), arrivals: [] });
            ws.send(`{"type":"chat.create","id":"${id}","body":${chatBody}}`);
          }
        }),
    ),
  );
  const ms = performance.now() - started;
  for (const ws of sockets) ws.close();
  return { late: stats(late), first: stats(firsts), errors, incomplete, ms };
}

// ---- main --------------------------------------------------------------------------------
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const mib = (b) => (b / (1024 * 1024)).toFixed(1);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

const loadBefore = load();
const certs = makeCerts();
const mockPort = await startMock(false, certs);
const plainPort = await startMock(true, certs);
const nyx = await startNyxgate(mockPort, certs);
log(`nyxgate on ${nyx.base}, mock https ${mockPort}, plain twin ${plainPort}`);

log(`opening ${IDLE} idle sockets`);
const idle = await idlePhase(nyx);
log(`idle: ${idle.sockets} open, ${idle.failed} failed, RSS/socket ${(idle.perSocket / 1024).toFixed(1)} KiB`);

log(`warm-ups, then ${STREAMS} streams of ${CHUNKS} chunks ${DELAY} ms apart, direct then through nyxgate`);
await directPhase(plainPort);
const direct = await directPhase(plainPort);
await nyxgatePhase(nyx); // warm-up: the upstream connection pool fills
const through = await nyxgatePhase(nyx);
const queries = await metric(nyx.base, 'nyxgate_db_queries_total');

const report = `# WebSocket benchmark, ${new Date().toISOString()}

Machine: ${os.cpus().length} CPUs (${os.cpus()[0].model}), load before ${loadBefore}, after ${load()}.
nyxgate: 2 I/O threads; C++ mock upstream over HTTPS (1 thread); client: Node \`ws\` in one process.

## ${IDLE} idle authenticated sockets

| sockets open | failed | open per metric | pongs | time to open | nyxgate RSS before | after | RSS per socket |
|---|---|---|---|---|---|---|---|
| ${idle.sockets} | ${idle.failed} | ${idle.open} | ${idle.pongs} | ${(idle.openMs / 1000).toFixed(1)} s | ${mib(idle.before)} MiB | ${mib(idle.after)} MiB | ${(idle.perSocket / 1024).toFixed(1)} KiB |

## ${STREAMS} concurrent streams, ${CHUNKS} chunks ${DELAY} ms apart (${PER_SOCKET} streams per socket)

Chunk latency = the client's receipt minus the send time the mock wrote into the chunk (same
machine, wall clock), in ms; the baseline reads the same streams straight from a plain-HTTP
twin of the mock (SSE), in the same run. "First chunk" = call start to first content chunk
(includes the first ${DELAY} ms pause).

| path | chunks measured | latency p50 | p99 | p99.9 | max | first chunk p50 | p99 | errors | incomplete | wall |
|---|---|---|---|---|---|---|---|---|---|---|
| direct (SSE) | ${direct.late.n} | ${fmt(direct.late.p50)} | ${fmt(direct.late.p99)} | ${fmt(direct.late.p999)} | ${fmt(direct.late.max)} | ${fmt(direct.first.p50)} | ${fmt(direct.first.p99)} | ${direct.errors} | ${direct.incomplete} | ${(direct.ms / 1000).toFixed(2)} s |
| nyxgate (WebSocket) | ${through.late.n} | ${fmt(through.late.p50)} | ${fmt(through.late.p99)} | ${fmt(through.late.p999)} | ${fmt(through.late.max)} | ${fmt(through.first.p50)} | ${fmt(through.first.p99)} | ${through.errors} | ${through.incomplete} | ${(through.ms / 1000).toFixed(2)} s |

Added per-chunk latency through nyxgate: p50 ${fmt(through.late.p50 - direct.late.p50)} ms, p99 ${fmt(through.late.p99 - direct.late.p99)} ms (ratio of p99s ${fmt(through.late.p99 / Math.max(0.001, direct.late.p99))}).
Errors through nyxgate: ${through.errors} (incomplete streams: ${through.incomplete}). Database queries during the run (total since start, usage batches included): ${queries}.
`;
console.log(report);
mkdirSync(path.dirname(results), { recursive: true });
writeFileSync(results, report);
log(`written to ${path.relative(repo, results)}`);
cleanup();
await sleep(2000);
process.exit(0);
