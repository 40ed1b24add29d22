/**
 * NightLight (Prometheus) as the metered-write route uses it: one POST of a
 * remote-write body to its receiver, with the headers of remote write 1.0.
 * Any HTTP answer is returned as it is; no answer (refused, timed out) is an
 * UnavailableError naming nightlight.
 */
import http from 'node:http';
import { UnavailableError, reasonOf } from './errors.js';

export interface WriteAnswer {
  status: number;
  /** The receiver's body (Prometheus explains a refusal in plain text), at most 4 KiB. */
  body: string;
}

export interface Nightlight {
  /** Forwards a snappy-compressed WriteRequest; throws UnavailableError when nothing answers. */
  write(body: Buffer): Promise<WriteAnswer>;
}

const MAX_ANSWER_BYTES = 4096;

export class HttpNightlight implements Nightlight {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 30_000,
  ) {}

  write(body: Buffer): Promise<WriteAnswer> {
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => reject(new UnavailableError('nightlight', `${this.url}: ${reasonOf(err)}`));
      const req = http.request(
        this.url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'x-prometheus-remote-write-version': '0.1.0',
            'content-length': body.length,
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < MAX_ANSWER_BYTES) chunks.push(c);
            size += c.length;
          });
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES).trim();
            resolve({ status: res.statusCode ?? 0, body: text });
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => {
        clearTimeout(timer);
        fail(err);
      });
      req.end(body);
    });
  }
}
