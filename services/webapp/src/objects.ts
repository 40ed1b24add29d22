/**
 * The snapshot bucket on LightningStor (Swift + s3api), through the AWS SDK
 * (@aws-sdk/client-s3): one attempt per call (the visit is the retry), each
 * bounded by S3_TIMEOUT_MS (8 s; connect 3 s) and aborted when it runs over.
 * Every failure is a BackendError('lightningstor', ...) naming the call,
 * the endpoint and what went wrong: 503 when S3 did not answer, 502 when it
 * answered with an error.
 */
import { CreateBucketCommand, DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from './app.js';
import type { Config } from './config.js';
import { BackendError, reasonOf } from './errors.js';

/** Every S3 call's deadline: a swift-proxy just started under TCG took 7 s for its first request. */
export const S3_TIMEOUT_MS = 8000;
export const S3_CONNECT_TIMEOUT_MS = 3000;
/** Between attempts to create the bucket at start. */
export const BUCKET_RETRY_MS = 3000;

/**
 * An S3 failure on one line: `HTTP <status> <S3 error code>: <message>`
 * when S3 answered (`answered`), else the network error (`ECONNREFUSED
 * 10.100.0.12:8080`, `socket hang up (ECONNRESET)`).
 */
export function describeS3Error(err: unknown): { reason: string; answered: boolean } {
  const e = (err ?? {}) as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const msg = reasonOf(err);
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status > 0) {
    const name = e.name && e.name !== 'Error' ? ` ${e.name}` : '';
    const detail = msg && msg !== e.name && msg !== 'UnknownError' ? `: ${msg}` : '';
    return { reason: `HTTP ${status}${name}${detail}`, answered: true };
  }
  const code = typeof e.code === 'string' && e.code && !msg.includes(e.code) ? ` (${e.code})` : '';
  return { reason: `${msg.replace(/^connect /, '')}${code}`, answered: false };
}

export class S3Objects implements ObjectStore {
  private readonly client: S3Client;
  private bucketReady = false;
  private creating: Promise<void> | null = null;

  constructor(
    private readonly config: Config['s3'],
    private readonly log: (line: string) => void,
  ) {
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      maxAttempts: 1,
      // The SDK's own deadline is a backstop: ours (call()) fires first.
      requestHandler: { connectionTimeout: S3_CONNECT_TIMEOUT_MS, requestTimeout: S3_TIMEOUT_MS + 2000 },
    });
  }

  private async call<T>(what: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), S3_TIMEOUT_MS);
    try {
      return await send(abort.signal);
    } catch (err) {
      const { reason, answered } = abort.signal.aborted ? { reason: `no answer within ${S3_TIMEOUT_MS / 1000} s`, answered: false } : describeS3Error(err);
      throw new BackendError('lightningstor', `${what} at ${this.config.endpoint}: ${reason}`, answered ? 502 : 503);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One try: HEAD the bucket, create it when missing. */
  async ensureBucket(): Promise<void> {
    const Bucket = this.config.bucket;
    try {
      await this.call(`HeadBucket ${Bucket}`, (abortSignal) => this.client.send(new HeadBucketCommand({ Bucket }), { abortSignal }));
    } catch (err) {
      if (!(err instanceof BackendError) || !/HTTP 404/.test(err.message)) throw err;
      await this.call(`CreateBucket ${Bucket}`, (abortSignal) => this.client.send(new CreateBucketCommand({ Bucket }), { abortSignal })).catch((e: unknown) => {
        // Made meanwhile by another instance: fine.
        if (e instanceof BackendError && /BucketAlreadyOwnedByYou|HTTP 409/.test(e.message)) return;
        throw e;
      });
      this.log(`lightningstor: created bucket ${Bucket} at ${this.config.endpoint}`);
    }
    this.bucketReady = true;
  }

  /** At start: ensureBucket until it works (every BUCKET_RETRY_MS), logging each failure. */
  async ensureBucketForever(stopped: () => boolean = () => false): Promise<void> {
    for (;;) {
      try {
        await this.ensureBucket();
        this.log(`lightningstor: bucket ${this.config.bucket} is there (${this.config.endpoint})`);
        return;
      } catch (err) {
        this.log(`${reasonOf(err)}; retrying in ${BUCKET_RETRY_MS / 1000} s`);
      }
      if (stopped()) return;
      await new Promise((r) => setTimeout(r, BUCKET_RETRY_MS));
    }
  }

  async ready(): Promise<void> {
    if (this.bucketReady) return;
    // A visit before the start-up loop made it: one try of our own (shared by concurrent callers).
    this.creating ??= this.ensureBucket().finally(() => {
      this.creating = null;
    });
    await this.creating;
  }

  async put(key: string, body: string): Promise<void> {
    await this.call(`PutObject ${this.config.bucket}/${key}`, (abortSignal) =>
      this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: key, Body: body, ContentType: 'application/json' }), { abortSignal }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.call(`DeleteObject ${this.config.bucket}/${key}`, (abortSignal) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }), { abortSignal }),
    );
  }

  close(): void {
    this.client.destroy();
  }
}
