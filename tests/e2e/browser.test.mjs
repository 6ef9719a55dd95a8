// GET /v1/ws from a real browser: headless Chromium opens a page served for the test, the
// page's script authenticates with its first message (browsers cannot set headers on a
// WebSocket), streams an answer into the DOM, and the test reads the DOM back over the
// DevTools protocol.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CHROMIUM, evaluator, launchChromium, pageTarget } from './lib/chromium.mjs';
import { ECHO_PREFIX, providerFlags, startMockProviders } from './lib/mock_providers.mjs';
import { leakedSecrets, sleep, startServer, tail } from './lib/server.mjs';
import { trpcClient } from './lib/trpc.mjs';

const QUESTION = 'tell the browser a streamed story';

/** The page: opens the socket, authenticates, streams one answer into #answer. */
function page(nyxgatePort, token) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>nyxgate ws test</title></head>
<body>
<div id="status">connecting</div>
<div id="meta"></div>
<div id="answer"></div>
<script>
const status = document.getElementById('status');
const ws = new WebSocket('ws://127.0.0.1:${nyxgatePort}/v1/ws');
ws.onopen = () => {
  status.textContent = 'open';
  ws.send(JSON.stringify({ type: 'auth', token: ${JSON.stringify(token)} }));
  ws.send(JSON.stringify({ type: 'chat.create', id: 'page-1',
    body: { model: 'auto', messages: [{ role: 'user', content: ${JSON.stringify(QUESTION)} }] } }));
};
ws.onmessage = (m) => {
  const ev = JSON.parse(m.data);
  if (ev.type === 'meta') document.getElementById('meta').textContent = ev.provider + '/' + ev.model;
  if (ev.type === 'delta') {
    const piece = document.createElement('span');
    piece.className = 'delta';
    piece.textContent = ev.chunk.choices[0].delta.content || '';
    document.getElementById('answer').appendChild(piece);
  }
  if (ev.type === 'done') status.textContent = 'done:' + ev.finishReason;
  if (ev.type === 'error') status.textContent = 'error:' + ev.error.code;
};
ws.onclose = (e) => { if (!status.textContent.startsWith('done')) status.textContent += ' closed:' + e.code; };
</script>
</body></html>`;
}

describe('GET /v1/ws from headless Chromium', () => {
  let mock;
  let srv;
  let pageServer;
  let pageUrl;
  let profile;
  const secrets = [];

  before(async () => {
    assert.ok(CHROMIUM, 'chromium is not installed (scripts/install-deps.sh installs it)');
    mock = await startMockProviders({ chunkDelayMs: 30, slowStreamChunks: 8 });
    srv = await startServer({ extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)] });
    secrets.push(srv.token);
    const owner = trpcClient(srv.url, srv.token);
    // slowstream: the answer arrives in 8 pieces 30 ms apart, so the DOM fills piece by piece.
    const key = `sk-slowstream-browser-${Math.random().toString(36).slice(2)}`;
    secrets.push(key);
    await owner.mutation('apiKeys.create', { provider: 'openai', name: 'browser', key });
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: null });
    const html = page(srv.port, srv.token);
    pageServer = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${pageServer.address().port}/chat.html`;
    profile = mkdtempSync(path.join(os.tmpdir(), 'nyxgate-chromium-'));
  });

  after(async () => {
    pageServer?.close();
    if (srv) {
      const stopped = await srv.stop();
      assert.equal(stopped.code, 0, tail(srv.stderr(), 30));
      assert.deepEqual(leakedSecrets(srv.stderr(), secrets), [], 'a key or token reached the log');
    }
    await mock?.close();
    // Last: Chromium's helpers may still be writing to the profile for a moment.
    if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  it('a page streams an answer into its DOM', async () => {
    const chrome = await launchChromium(pageUrl, profile);
    let devtools;
    try {
      devtools = evaluator(await pageTarget(chrome.port, pageUrl, chrome));
      const deadline = Date.now() + 20_000;
      let status = '';
      while (Date.now() < deadline) {
        status = (await devtools.eval("document.getElementById('status')?.textContent ?? ''")) ?? '';
        if (status.startsWith('done') || status.includes('error') || status.includes('closed')) break;
        await sleep(50);
      }
      assert.equal(status, 'done:stop', tail(chrome.stderr(), 20));
      const answer = await devtools.eval("document.getElementById('answer').textContent");
      assert.equal(answer, `${ECHO_PREFIX}${QUESTION}`);
      const pieces = await devtools.eval("document.querySelectorAll('#answer .delta').length");
      assert.ok(pieces >= 4, `${pieces} pieces in the DOM`);
      assert.match(await devtools.eval("document.getElementById('meta').textContent"), /^openai\/.+/);
    } finally {
      devtools?.close();
      await chrome.stop();
    }
  });
});
