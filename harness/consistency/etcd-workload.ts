/**
 * The chainfire register workload (services/workloads/etcd-registers.mjs)
 * and its settings; how any workload is run and read back is in
 * workload.ts.
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';

export const ETCD_REGISTERS_SCRIPT = path.join(PROJECT_ROOT, 'services', 'workloads', 'etcd-registers.mjs');

export interface EtcdRegistersConfig {
  /** host:port of each member's client URL; client i talks to endpoint i mod n. */
  endpoints: string[];
  clients: number;
  keys: number;
  timeLimitS: number;
  opLimit: number;
  opTimeoutMs: number;
  /** Serializable reads (a member's local state, no quorum): not linearizable under a partition, on purpose. A list: through those endpoints only. */
  serializable: boolean | string[];
  /** A path on the node the script writes once its clients begin (the harness's faults start then). */
  startedFile?: string;
  /** A path on the node: the clients stop once it exists (the limits still bound the run). */
  stopFile?: string;
  /** A fresh key prefix per run, so every register starts unwritten (null). */
  prefix: string;
  seed: number;
}
