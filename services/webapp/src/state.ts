/**
 * The counter as stored in FlareDB (a hash: `counter`, `lastSnapshot`,
 * `updatedAt`) and the state document GET /state and POST /visit answer.
 * Pure functions.
 */

/** The app's state in FlareDB. A missing hash is counter 0, no snapshot. */
export interface CounterState {
  counter: number;
  lastSnapshot: string | null;
}

/** The node the VM runs on, from the metadata URL: a name, or null and why not. */
export type NodeLookup = { node: string; nodeError?: undefined } | { node: null; nodeError: string };

/** What stays the same for the life of the process. */
export interface ProcessInfo {
  name: string;
  bootId: string;
  hostname: string;
  startedAt: string;
}

export interface StateDocument {
  name: string;
  counter: number;
  lastSnapshot: string | null;
  node: string | null;
  /** Only when node is null: why. */
  nodeError?: string;
  bootId: string;
  hostname: string;
  startedAt: string;
  /** Visits this process answered 200. */
  visitsServed: number;
}

/**
 * The hash's `counter` and `lastSnapshot` fields (HMGET order) as a
 * CounterState; throws on a counter that is not a non-negative integer
 * (never read as 0).
 */
export function parseCounterFields(counter: string | null, lastSnapshot: string | null): CounterState {
  if (counter === null) {
    if (lastSnapshot !== null) throw new Error(`the hash has lastSnapshot ${JSON.stringify(lastSnapshot)} but no counter`);
    return { counter: 0, lastSnapshot: null };
  }
  if (!/^(0|[1-9]\d{0,14})$/.test(counter)) throw new Error(`the hash's counter field holds ${JSON.stringify(counter.slice(0, 40))}, not a non-negative integer`);
  const n = Number(counter);
  if (n > 0 && (lastSnapshot === null || lastSnapshot === '')) throw new Error(`the hash's counter is ${n} but it names no lastSnapshot`);
  return { counter: n, lastSnapshot: lastSnapshot === '' ? null : lastSnapshot };
}

export function stateDocument(info: ProcessInfo, state: CounterState, where: NodeLookup, visitsServed: number): StateDocument {
  const doc: StateDocument = {
    name: info.name,
    counter: state.counter,
    lastSnapshot: state.lastSnapshot,
    node: where.node,
    bootId: info.bootId,
    hostname: info.hostname,
    startedAt: info.startedAt,
    visitsServed,
  };
  if (where.node === null) doc.nodeError = where.nodeError;
  return doc;
}

/** A worker name as the metadata URL answers it (first line, trimmed); else why it is not one. */
export function parseNodeName(body: string): NodeLookup {
  const line = body.split('\n')[0]!.trim();
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(line)) return { node: line };
  return { node: null, nodeError: `metadata answered ${JSON.stringify(body.slice(0, 60))}, not a node name` };
}
