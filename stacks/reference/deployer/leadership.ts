/**
 * The deployers' leadership history on the reference stack (issue 28), read
 * after a run: chainfire's own history through etcd's v3 JSON gateway on a
 * control node (a watch from the run's first revision, read up to a marker
 * key written at the end, so nothing before the marker is missing), and the
 * `leadership {...}` lines each deployer wrote to its journal
 * (services/deployer/src/leadership-log.ts). The host opens no socket to a
 * cluster address: curl and journalctl run on the nodes. The parsers are
 * pure and unit-tested; harness/consistency/leadership.ts judges the result.
 */
import crypto from 'node:crypto';
import type { LeaderTerm, LeaderWrite, LeadershipHistory } from '../../../harness/consistency/leadership.js';
import { NodeError } from '../../../harness/errors.js';
import { type Node, shellQuote } from '../../../harness/remote/node.js';
import { LEADERSHIP_TAG, type LeadershipEvent, parseLeadershipLine } from '../../../services/deployer/src/leadership-log.js';
import { b64, prefixEnd, unb64 } from '../../../services/deployer/src/etcd.js';
import { K, PREFIX } from '../../../services/deployer/src/state.js';
import { etcdV3Ops } from '../../etcd-v3.js';
import type { LeadershipMark } from '../../contracts.js';

const GATEWAY = `http://127.0.0.1:${etcdV3Ops.ports.client}/v3`;
/** The whole `/ultracloud/` range: the deployer's keys and the marker beside them (outside the prefix the deployers watch). */
const RANGE = { key: '/ultracloud/', end: prefixEnd('/ultracloud/') };
const MARKER_PREFIX = '/ultracloud/faults/leadership-mark-';
/** The deployer's unit on the control nodes. */
export const DEPLOYER_UNIT = 'deployer.service';

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

/** POSTs `body` to the gateway on `node`; a gRPC error in the answer throws. */
async function gateway<T>(node: Node, path: string, body: unknown): Promise<T> {
  const r = await node.execute(`curl -sS -m 20 -X POST ${GATEWAY}/${path} -d ${shellQuote(JSON.stringify(body))}`, 60_000);
  const json = r.code === 0 ? (JSON.parse(r.stdout) as T & { error?: string; message?: string }) : undefined;
  if (!json || json.error !== undefined) throw new NodeError(node.name, `chainfire's JSON gateway: POST /v3/${path} failed`, { lastSeen: `${r.stdout}${r.stderr}`.trim() || `curl exit ${r.code}` });
  return json;
}

/** The leader key as a term (undefined: none held). */
function termOf(kv: RawKv | undefined): LeaderTerm | undefined {
  if (!kv) return undefined;
  return { term: Number(kv.create_revision), holder: (JSON.parse(unb64(kv.value)) as { name: string }).name, lease: kv.lease ?? '0' };
}

/** The revision chainfire is at and the term held now, read through `via` (a control node), with the node's clock. */
export async function leadershipMark(via: Node): Promise<LeadershipMark> {
  const atS = Number((await via.succeed('date +%s')).trim());
  const r = await gateway<{ header: { revision: string }; kvs?: RawKv[] }>(via, 'kv/range', { key: b64(K.leader) });
  return { revision: Number(r.header.revision), atS, term: termOf(r.kvs?.[0]) };
}

/**
 * Terms and leader writes from the watch's output (one JSON response a
 * line), after `mark`: a leader key created is a term, its deletion ends it;
 * puts and deletes of assignments and the status are the leader's writes.
 * Pure.
 */
export function historyFromWatch(lines: string[], mark: LeadershipMark): { terms: LeaderTerm[]; writes: LeaderWrite[] } {
  const terms: LeaderTerm[] = mark.term ? [{ ...mark.term }] : [];
  const writes: LeaderWrite[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const res = (JSON.parse(line) as { result?: { events?: { type?: string; kv: RawKv }[] }; error?: unknown }).result;
    if (!res) throw new Error(`chainfire's watch answered with an error: ${line.slice(0, 300)}`);
    for (const ev of res.events ?? []) {
      const key = unb64(ev.kv.key);
      const revision = Number(ev.kv.mod_revision);
      const type = ev.type === 'DELETE' ? 'delete' : 'put';
      if (key === K.leader) {
        const open = terms.at(-1);
        if (type === 'delete' && open && open.ended === undefined) open.ended = revision;
        else if (type === 'put' && Number(ev.kv.create_revision) === revision) terms.push(termOf(ev.kv)!);
      } else if (key.startsWith(`${PREFIX}assign/`) || key === K.status) {
        writes.push({ revision, key, type });
      }
    }
  }
  return { terms, writes };
}

/** The leadership events in `journalctl -o cat` output of one deployer (other lines passed over). Pure. */
export function eventsFromJournal(text: string): LeadershipEvent[] {
  return text.split('\n').flatMap((l) => parseLeadershipLine(l.trim()) ?? []);
}

/**
 * Chainfire's history since `mark`, read through `via`, and every leadership
 * event the deployers on `deployers` logged since then.
 */
export async function leadershipHistory(via: Node, deployers: Node[], mark: LeadershipMark): Promise<LeadershipHistory> {
  const marker = `${MARKER_PREFIX}${crypto.randomBytes(6).toString('hex')}`;
  const put = await gateway<{ header: { revision: string } }>(via, 'kv/put', { key: b64(marker), value: b64('end of a leadership history') });
  const to = Number(put.header.revision);
  try {
    // History replays in revision order: once the marker's event is out, every earlier one is. Then curl is stopped (it would wait for more).
    const watch = JSON.stringify({ create_request: { key: b64(RANGE.key), range_end: RANGE.end, start_revision: String(mark.revision + 1) } });
    const script = [
      `exec 3< <(curl -sS -N -m 120 -X POST ${GATEWAY}/watch -d ${shellQuote(watch)}); pid=$!`,
      `seen=no; while IFS= read -r -t 90 line <&3; do printf '%s\\n' "$line"; case $line in *${shellQuote(b64(marker))}*) seen=yes; break;; esac; done`,
      'kill $pid 2>/dev/null; [ $seen = yes ]',
    ].join('\n');
    const r = await via.execute(`bash -c ${shellQuote(script)}`, 150_000);
    if (r.code !== 0) throw new NodeError(via.name, `chainfire's watch from revision ${mark.revision + 1} ended before the marker at ${to}: the history would be incomplete`, { lastSeen: `${r.stdout.slice(-500)}${r.stderr}`.trim() || `exit ${r.code}` });
    const { terms, writes } = historyFromWatch(r.stdout.split('\n'), mark);
    const actions: LeadershipHistory['actions'] = [];
    const fenced: LeadershipHistory['fenced'] = [];
    const unknown: LeadershipHistory['unknown'] = [];
    for (const d of deployers) {
      // A minute before the mark: the nodes' clocks differ a little; events before the mark's revision are not judged.
      const text = await d.succeed(`journalctl -u ${DEPLOYER_UNIT} --since @${mark.atS - 60} -o cat --no-pager | awk '/^${LEADERSHIP_TAG} \\{/'`, 60_000);
      for (const e of eventsFromJournal(text)) {
        if (e.event === 'act') actions.push({ node: d.name, term: e.term, lease: e.lease, revision: e.revision, keys: e.keys });
        else if (e.event === 'unknown') unknown.push({ node: d.name, term: e.term, lease: e.lease, keys: e.keys });
        else if (e.event === 'fenced' && e.term >= (mark.term?.term ?? 0)) fenced.push({ node: d.name, term: e.term });
      }
    }
    return { from: mark.revision, to, terms, writes, actions, fenced, unknown };
  } finally {
    await deleteMarkerForCleanup(via, marker);
  }
}

/** Removes the marker; a failure is printed, not thrown, so it never hides the history's own error (the key is inert). */
async function deleteMarkerForCleanup(via: Node, marker: string): Promise<void> {
  try {
    await gateway(via, 'kv/deleterange', { key: b64(marker) });
  } catch (e) {
    process.stderr.write(`deployer leadership: could not delete the marker ${marker} on ${via.name}: ${(e as Error).message}\n`);
  }
}
