// Headless Chromium driven over the DevTools protocol: launch it, find a page target, send
// commands and hear events on that page's WebSocket.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import WebSocket from 'ws';

import { freePort, sleep, tail } from './server.mjs';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Chromium headless with a DevTools port; resolves {proc, port, stderr(), stop()}. */
export async function launchChromium(url, profile) {
  const port = await freePort();
  const proc = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      `--user-data-dir=${profile}`,
      `--remote-debugging-port=${port}`,
      url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  return {
    proc,
    port,
    stderr: () => stderr,
    /** SIGKILL, resolved once the process is gone. */
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** The DevTools WebSocket URL of the page showing `url`, once Chromium has it. */
export async function pageTarget(devtoolsPort, url, chrome) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (chrome.proc.exitCode !== null || chrome.proc.signalCode !== null)
      throw new Error(`Chromium exited (${chrome.proc.exitCode ?? chrome.proc.signalCode}): ${tail(chrome.stderr(), 20)}`);
    try {
      const list = await (await fetch(`http://127.0.0.1:${devtoolsPort}/json/list`)).json();
      const target = list.find((t) => t.type === 'page' && t.url.startsWith(url));
      if (target) return target.webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`Chromium did not open the page: ${tail(chrome.stderr(), 20)}`);
}

/**
 * A DevTools session on one page: `send(method, params)` resolves the command's result,
 * `eval(expression)` the value of Runtime.evaluate, `on(event, fn)` hears events.
 */
export function evaluator(debuggerUrl) {
  const ws = new WebSocket(debuggerUrl);
  let next = 1;
  const pending = new Map();
  const listeners = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.method) {
      for (const fn of listeners.get(msg.method) ?? []) fn(msg.params);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  // Chromium going away must fail the test, not leave it waiting.
  ws.on('close', () => {
    for (const p of pending.values()) p.reject(new Error('the DevTools connection closed'));
    pending.clear();
  });
  async function send(method, params = {}) {
    await opened;
    const id = next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`no DevTools answer to ${method}`));
      }, 5_000);
      const settle = (fn) => (v) => {
        clearTimeout(timer);
        fn(v);
      };
      pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      ws.send(JSON.stringify({ id, method, params }));
    });
  }
  return {
    send,
    async eval(expression) {
      const result = await send('Runtime.evaluate', { expression, returnByValue: true });
      if (result.exceptionDetails) throw new Error(`${expression}: ${result.exceptionDetails.text}`);
      return result.result.value;
    },
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, []);
      listeners.get(event).push(fn);
    },
    close: () => ws.close(),
  };
}

/** Opens a blank tab in `chrome`; resolves {debuggerUrl, close()}. */
export async function newTab(chrome) {
  await pageTarget(chrome.port, '', chrome);  // DevTools is up
  const res = await fetch(`http://127.0.0.1:${chrome.port}/json/new?about:blank`, { method: 'PUT' });
  const target = await res.json();
  return {
    debuggerUrl: target.webSocketDebuggerUrl,
    close: () => fetch(`http://127.0.0.1:${chrome.port}/json/close/${target.id}`).then((r) => r.text()),
  };
}
