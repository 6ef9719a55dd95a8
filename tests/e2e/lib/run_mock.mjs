#!/usr/bin/env node
// Runs the mock providers on their own, for benchmarks and manual use:
//
//   node tests/e2e/lib/run_mock.mjs [--port=N] [--slow-ms=N] [--stream-chunks=N]
//        [--words-per-chunk=N] [--slowstream-chunks=N] [--chunk-delay-ms=N] [--drop-after=N]
//
// Prints one JSON line on stdout, {"url","port","caFile","pid"}, then serves until SIGTERM or
// SIGINT, when it closes (removing its throwaway CA) and exits 0. Point nyxgate at it with
// `--tls.ca_file=<caFile>` and `--providers.<p>.base_url=<url>` for every provider; keys
// choose the behaviour as described in mock_providers.mjs.
import { startMockProviders } from './mock_providers.mjs';

const FLAGS = {
  'port': 'port',
  'slow-ms': 'slowMs',
  'stream-chunks': 'streamChunks',
  'words-per-chunk': 'wordsPerChunk',
  'slowstream-chunks': 'slowStreamChunks',
  'chunk-delay-ms': 'chunkDelayMs',
  'drop-after': 'dropAfterChunks',
};

function parseArgs(argv) {
  const options = {};
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(\d+)$/.exec(arg);
    if (!m || !(m[1] in FLAGS)) {
      process.stderr.write(`run_mock: unknown or malformed argument ${arg}\nflags: ${Object.keys(FLAGS).map((f) => `--${f}=N`).join(' ')}\n`);
      process.exit(2);
    }
    options[FLAGS[m[1]]] = Number(m[2]);
  }
  return options;
}

const mock = await startMockProviders(parseArgs(process.argv.slice(2)));
process.stdout.write(`${JSON.stringify({ url: mock.url, port: mock.port, caFile: mock.caFile, pid: process.pid })}\n`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await mock.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
