/**
 * Start-up: config (exit 2 if bad), then wait, every 2 s and forever, until
 * flaredb answers PING and IAM is reached (JWKS fetched, an LDAP bind
 * accepted); only then listen and tell systemd READY=1. SIGTERM stops it.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, formatHostPort, loadConfig, type Config } from './config.js';
import { LdapDirectory, type Directory } from './directory.js';
import { UnavailableError, reasonOf, withTimeout } from './errors.js';
import { createApp, type HealthReport } from './http.js';
import type { Ledger } from './ledger.js';
import { RedisLedger, createRedis, watchFailovers } from './redis-ledger.js';
import { HttpNightlight } from './nightlight.js';
import { createServer, listen } from './server.js';
import { sdNotify, statusArg } from './systemd.js';
import { JwksCache, JwtAuthenticator } from './token.js';

export const RETRY_INTERVAL_MS = 2000;
/** A reason that does not change is logged again every this many attempts (30 s). */
export const REPEAT_EVERY = 15;

export interface WaitOptions {
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  intervalMs?: number;
  /** Called with the text for systemd's STATUS= when the reason changes. */
  status?: (text: string) => void;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Retries `attempt` until it resolves, logging "waiting for <name>: <reason>"
 * when the reason changes (and every REPEAT_EVERY attempts). Returns the
 * number of attempts it took.
 */
export async function waitFor(name: string, attempt: () => Promise<void>, opts: WaitOptions): Promise<number> {
  const sleep = opts.sleep ?? sleepMs;
  const interval = opts.intervalMs ?? RETRY_INTERVAL_MS;
  let last = '';
  for (let n = 1; ; n++) {
    try {
      await attempt();
      if (n > 1) opts.log(`reached ${name} after ${n} attempts`);
      return n;
    } catch (err) {
      const reason = err instanceof UnavailableError ? err.reason : reasonOf(err);
      if (reason !== last || n % REPEAT_EVERY === 0) {
        opts.log(`waiting for ${name}: ${reason}`);
        if (reason !== last) opts.status?.(`waiting for ${name}: ${reason}`);
      }
      last = reason;
      await sleep(interval);
    }
  }
}

/** 'ok', or why not, for each part; bounded in time. */
export async function checkHealth(ledger: Ledger, jwks: JwksCache, directory: Directory, timeoutMs = 5000): Promise<HealthReport> {
  const timedOut = () => new Error(`no answer within ${timeoutMs} ms`);
  const outcome = (p: Promise<unknown>) =>
    withTimeout(p, timeoutMs, timedOut).then(
      () => 'ok',
      (err: unknown) => (err instanceof UnavailableError ? err.reason : reasonOf(err)),
    );
  const [redis, iam] = await Promise.all([
    outcome(ledger.ping()),
    outcome(
      (async () => {
        if (!jwks.loaded) await jwks.refresh();
        await directory.check();
      })(),
    ),
  ]);
  return { redis, iam };
}

export async function runService(env: Record<string, string | undefined>): Promise<void> {
  const log = (line: string) => {
    process.stdout.write(`${line}\n`);
  };
  let config: Config;
  try {
    config = loadConfig(env, (p) => readFileSync(p, 'utf8'));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Nothing is started yet, so the process ends with this code.
    process.stderr.write(`creditservice: config error: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }

  const notifyStatus = (text: string) => {
    sdNotify([statusArg(text)], env).catch((err: unknown) => log(`systemd-notify: ${reasonOf(err)}`));
  };

  log(
    `creditservice starting: listen ${formatHostPort(config.listen)}, sentinels ${config.redis.sentinels.map(formatHostPort).join(',')} ` +
      `(master ${config.redis.masterName}), JWKS ${config.iam.jwksUrls.join(',')}, LDAP ${config.ldap.urls.join(',')}, ` +
      `metered writes to ${config.nightlightWriteUrl}, acknowledged once ${config.redisWait.replicas} replica(s) have a change (WAIT ${config.redisWait.timeoutMs} ms)`,
  );
  const ledger = new RedisLedger(() => createRedis(config, log), log, config.redisWait);
  const failovers = watchFailovers(config, () => ledger.client, log);
  const jwks = new JwksCache(config.iam.jwksUrls);
  const auth = new JwtAuthenticator(jwks, config.iam.issuer, config.iam.clockToleranceS, log);
  const directory = new LdapDirectory(config.ldap);
  const nightlight = new HttpNightlight(config.nightlightWriteUrl);
  const app = createApp({ ledger, auth, directory, nightlight, health: () => checkHealth(ledger, jwks, directory), log });
  const server = createServer(app, log);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const exit = () => {
      failovers.close();
      ledger.close();
      process.exit(0);
    };
    // Requests in flight may finish (3 s at most); idle keep-alive connections close now.
    if (server.listening) server.close(exit);
    else exit();
    server.closeIdleConnections();
    setTimeout(exit, 3000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  const waitOpts = { log, status: notifyStatus };
  await Promise.all([
    waitFor('Redis', () => withTimeout(ledger.ping(), 5000, () => new Error('PING: no answer within 5000 ms')), waitOpts),
    waitFor(
      'IAM',
      async () => {
        await jwks.refresh();
        await directory.check();
      },
      waitOpts,
    ),
  ]);
  if (stopping) return;

  try {
    await listen(server, config.listen);
  } catch (err) {
    // A taken port or a missing address: worth a restart (exit 1), not a config error.
    process.stderr.write(`creditservice: cannot listen on ${formatHostPort(config.listen)}: ${reasonOf(err)}\n`);
    process.exit(1);
  }
  log(`ready: listening on ${formatHostPort(config.listen)} (Redis and IAM reached)`);
  try {
    await sdNotify(['--ready', statusArg(`serving on ${formatHostPort(config.listen)}`)], env);
  } catch (err) {
    log(`systemd-notify --ready failed: ${reasonOf(err)}`);
  }
}
