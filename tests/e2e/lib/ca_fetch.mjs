// A WHATWG `fetch` that trusts one extra CA (the mock's throwaway CA), built on node:https.
// Node's global fetch cannot take a CA without the `undici` package, and NODE_EXTRA_CA_CERTS
// is read only at process start; the official SDKs accept a custom `fetch` instead.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Readable } from 'node:stream';

const NULL_BODY = new Set([101, 204, 205, 304]);

function abortError(signal) {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('This operation was aborted', 'AbortError');
}

async function bodyBytes(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.from(await new Response(body).arrayBuffer());
}

/**
 * `caFile` (path) or `ca` (PEM) → fetch(input, init) with a `close()` that ends its keep-alive
 * connections. Supports method, headers, body, signal; the response body streams.
 */
export function makeCaFetch({ caFile, ca = caFile ? readFileSync(caFile) : undefined, keepAlive = true } = {}) {
  const agent = new https.Agent({ ca, keepAlive });
  async function caFetch(input, init = {}) {
    const asRequest = input instanceof Request ? input : null;
    const url = new URL(asRequest ? asRequest.url : String(input));
    const method = (init.method ?? asRequest?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers ?? asRequest?.headers ?? {});
    const signal = init.signal ?? asRequest?.signal ?? null;
    const body = await bodyBytes(init.body ?? (asRequest && asRequest.body ? await asRequest.arrayBuffer() : null));
    if (signal?.aborted) throw abortError(signal);
    const outHeaders = {};
    headers.forEach((v, k) => {
      outHeaders[k] = v;
    });
    if (body) outHeaders['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers: outHeaders, agent }, (res) => {
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        const status = res.statusCode;
        const stream = NULL_BODY.has(status) || method === 'HEAD' ? null : Readable.toWeb(res);
        if (!stream) res.resume();
        const response = new Response(stream, { status, statusText: res.statusMessage, headers: h });
        Object.defineProperty(response, 'url', { value: url.href });
        resolve(response);
      });
      const onAbort = () => req.destroy(abortError(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.on('error', (err) => reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: err })));
      req.end(body ?? undefined);
    });
  }
  caFetch.close = () => agent.destroy();
  return caFetch;
}
