/**
 * The flaredb register workload (services/workloads/redis-registers.mjs):
 * its settings. It is run and read back as every workload is
 * (workload.ts); its output adds each write's WAIT count to its end.
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';

export const REDIS_REGISTERS_SCRIPT = path.join(PROJECT_ROOT, 'services', 'workloads', 'redis-registers.mjs');

export interface RedisRegistersConfig {
  /** host:port of each Sentinel; client i asks sentinel i mod n for the primary before each operation. */
  sentinels: string[];
  /** Sentinel's name for the set. */
  master: string;
  /** The password, read on the node (never on a command line). */
  passwordFile: string;
  clients: number;
  keys: number;
  timeLimitS: number;
  opLimit: number;
  opTimeoutMs: number;
  /** A write is acknowledged (ok) when WAIT counts this many replicas within waitMs; fewer is info. */
  replicas: number;
  waitMs: number;
  /** Each client waits this long between operations (a fast server would otherwise fill the history in seconds). */
  thinkMs?: number;
  /** A path on the node the script writes once its clients begin (the harness's faults start then). */
  startedFile?: string;
  /** A path on the node: the clients stop once it exists. */
  stopFile?: string;
  /** A fresh key prefix per run, so every register starts unset (null). */
  prefix: string;
  seed: number;
}
