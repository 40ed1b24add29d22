/**
 * node:http around the App: reads (and drops) the request body, 16 KiB at
 * most, writes the JSON answer and logs one line per request to stdout.
 */
import http from 'node:http';
import type { App, AppResponse } from './app.js';
import type { HostPort } from './config.js';
import { reasonOf } from './errors.js';

export const MAX_BODY_BYTES = 16 * 1024;

/** `<ISO time> webapp: <text>`: the serial console has no timestamps of its own. */
export function stamp(text: string, now = new Date()): string {
  return `${now.toISOString()} webapp: ${text}`;
}

/** The request's log line: method, path (no query), status, ms, a visit's phases, and the error of a failed one. */
export function requestLine(method: string, url: string, res: AppResponse, ms: number): string {
  let line = `${method} ${url.split('?')[0]} ${res.status} ${ms}ms`;
  if (res.timing) line += ` [${res.timing}]`;
  return res.status >= 400 && res.error ? `${line} (${res.error})` : line;
}

export function responseBody(out: AppResponse): string {
  return `${JSON.stringify(out.body)}\n`;
}

export function createServer(app: App, log: (line: string) => void): http.Server {
  const server = http.createServer((req, res) => {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    req.on('error', () => {});
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
    });
    req.on('end', () => {
      const answer: Promise<AppResponse> = tooLarge
        ? Promise.resolve({ status: 413, headers: { connection: 'close' }, body: { error: `body over ${MAX_BODY_BYTES} bytes` }, error: 'body too large' })
        : app.handle(method, url);
      answer
        .then((out) => {
          const body = responseBody(out);
          res.writeHead(out.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...out.headers });
          res.end(body);
          log(requestLine(method, url, out, Date.now() - started));
        })
        .catch((err: unknown) => {
          log(`${method} ${url}: failed to answer: ${reasonOf(err)}`);
          res.destroy();
        });
    });
  });
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;
  return server;
}

export function listen(server: http.Server, at: HostPort): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
