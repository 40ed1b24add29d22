/**
 * The bank workload on creditservice (services/workloads/credit-bank.mjs):
 * its settings. It is run and read back as every workload is
 * (workload.ts); the same script reads the end state (`finals`).
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';

export const CREDIT_BANK_SCRIPT = path.join(PROJECT_ROOT, 'services', 'workloads', 'credit-bank.mjs');

export interface CreditBankConfig {
  /** creditservice's root as the client node reaches it (http://127.0.0.1:8085 on its own node). */
  url: string;
  /** A path on the node: JSON [{account, token}], the first an operator's. Client i acts for holder i mod n. */
  tokenFile: string;
  clients: number;
  timeLimitS: number;
  opLimit: number;
  /** Longer than the service's own ledger timeout (10 s), so a stalled ledger answers 503 with its reason. */
  opTimeoutMs: number;
  /** A reservation is 1..maxAmount credits; a draw 1-3 samples (credits). */
  maxAmount: number;
  /** Reservations a client keeps open at most. */
  maxOpen: number;
  thinkMs?: number;
  startedFile?: string;
  stopFile?: string;
  /** Reservation ids are `<prefix>-c<client>-<n>`: fresh per run. */
  prefix: string;
  seed: number;
}
