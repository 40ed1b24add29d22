/**
 * Entry point of the bundle (build.ts): in the tenant VM,
 *   node /usr/lib/ultracloud/webapp/webapp.js --config /run/webapp/config.json
 * Exit codes: 2 bad usage or configuration (one line on stderr), 1 could
 * not listen or crashed; a signal (SIGTERM, SIGINT) ends it with 0.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createApp } from './app.js';
import { ConfigError, configPath, parseConfig, type Config } from './config.js';
import { reasonOf } from './errors.js';
import { FlareDbStore } from './flaredb.js';
import { lookupNode } from './metadata.js';
import { S3Objects } from './objects.js';
import { createServer, listen, stamp } from './server.js';

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

function loadConfig(argv: string[]): Config {
  const file = configPath(argv);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${reasonOf(err).split(',')[0]}`);
  }
  try {
    return parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${file}: ${err.message}`);
    throw err;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`webapp: config error: ${err.message}\n`);
    process.exit(2);
  }
  const log = (line: string) => process.stdout.write(`${stamp(line)}\n`);
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${reasonOf(err)}`));
  // The SDK's notice that its releases after January 2027 want Node 22 is not ours to act on in a VM with Debian's Node 18.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  let bootId = 'unknown';
  try {
    bootId = readFileSync(BOOT_ID_FILE, 'utf8').trim();
  } catch (err) {
    log(`cannot read ${BOOT_ID_FILE}: ${reasonOf(err)}`);
  }
  const info = { name: config.name, bootId, hostname: os.hostname(), startedAt: new Date().toISOString() };
  const store = new FlareDbStore(config.flaredb, config.counterKey, log);
  const objects = new S3Objects(config.s3, log);
  const app = createApp({ info, store, objects, node: () => lookupNode(config.metadataUrl), log });
  const server = createServer(app, log);
  try {
    await listen(server, config.listen);
  } catch (err) {
    log(`cannot listen on ${config.listen.host}:${config.listen.port}: ${reasonOf(err)}`);
    process.exit(1);
  }
  log(
    `${config.name} listening on ${config.listen.host}:${config.listen.port} (pid ${process.pid}, node ${process.version}, boot ${bootId}); ` +
      `flaredb master ${config.flaredb.masterName} via sentinels ${config.flaredb.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}, hash ${config.counterKey}; ` +
      `s3 ${config.s3.endpoint} bucket ${config.s3.bucket}; metadata ${config.metadataUrl ?? 'none'}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    server.close();
    store.close();
    objects.close();
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  void objects.ensureBucketForever(() => stopping);
}

main().catch((err: unknown) => {
  process.stderr.write(`webapp: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
