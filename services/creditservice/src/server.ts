/**
 * node:http around the App: reads the body (16 KiB at most, else 413),
 * writes the JSON response and logs one line per request to stdout
 * (journald): method, path, status, caller, duration.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import type { HostPort } from './config.js';
import { HttpError } from './errors.js';
import { METERED_WRITE_PATH, errorResponse, type App, type AppResponse } from './http.js';

export const MAX_BODY_BYTES = 16 * 1024;
/** Metered remote writes carry batches of samples (snappy-compressed protobuf): a larger limit. */
export const MAX_WRITE_BODY_BYTES = 1024 * 1024;

/** The body limit for a request to `url`. */
export function bodyLimit(url: string): number {
  return url.split('?')[0] === METERED_WRITE_PATH ? MAX_WRITE_BODY_BYTES : MAX_BODY_BYTES;
}

/** The whole body, or HttpError 413 as soon as it is known to exceed `limit` bytes. */
export async function readBody(
  stream: Readable,
  contentLength: string | undefined,
  limit = MAX_BODY_BYTES,
): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `body over ${limit} bytes`, { connection: 'close' });
  if (contentLength !== undefined && /^\d+$/.test(contentLength) && Number(contentLength) > limit) throw tooLarge();
  // Events, not for-await: leaving a for-await early destroys the stream,
  // and with it the socket the 413 still has to go out on.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) {
        cleanup();
        stream.pause();
        reject(tooLarge());
      } else {
        chunks.push(buf);
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/** The request line for the log: method, path (no query), status, caller, ms; 5xx adds the reason. */
export function logLine(method: string, url: string, res: AppResponse, ms: number): string {
  const path = url.split('?')[0];
  const line = `${method} ${path} ${res.status} ${res.caller ?? '-'} ${ms}ms`;
  return res.status >= 500 && res.error ? `${line} (${res.error})` : line;
}

export function writeResponse(res: http.ServerResponse, out: AppResponse): void {
  if (out.status === 204) {
    res.writeHead(204, out.headers);
    res.end();
    return;
  }
  const body = out.body === undefined ? '' : `${JSON.stringify(out.body)}\n`;
  res.writeHead(out.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...out.headers,
  });
  res.end(body);
}

export function createServer(app: App, log: (line: string) => void): http.Server {
  const server = http.createServer((req, res) => {
    const started = Date.now();
    // A client that goes away mid-request must not become an uncaught 'error'.
    req.on('error', () => {});
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const cl = req.headers['content-length'];
    readBody(req, cl, bodyLimit(url))
      .then((body) => app({ method, url, headers: req.headers, body }))
      .catch((err: unknown) => errorResponse(err))
      .then((out) => {
        writeResponse(res, out);
        log(logLine(method, url, out, Date.now() - started));
        // An oversized body is not read on: the connection closes after the 413.
        if (out.status === 413) res.once('finish', () => req.destroy());
      })
      .catch((err: unknown) => {
        log(`${method} ${url}: failed to answer: ${String(err)}`);
        res.destroy();
      });
  });
  // The gateway keeps connections to us open: outlive its idle reuse.
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
