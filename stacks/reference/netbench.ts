/**
 * The cluster network's TCP baseline between two nodes: iperf3 (Debian
 * `iperf3`), a one-off server on the server's cluster address in a
 * transient systemd unit (so nothing outlives the measurement), the client
 * on the other node with JSON output.
 */
import { NodeError } from '../../harness/errors.js';
import type { Node } from '../../harness/remote/node.js';
import type { NetBaseline } from '../contracts.js';

const PORT = 5299;
const UNIT = 'ultracloud-bench-iperf3';

/** iperf3 -J output → the receiver's throughput and the sender's retransmits; throws with iperf3's error. */
export function parseIperf3(json: string): NetBaseline {
  let doc: { error?: string; end?: { sum_sent?: { retransmits?: number; seconds?: number }; sum_received?: { bits_per_second?: number; seconds?: number } } };
  try {
    doc = JSON.parse(json.slice(json.indexOf('{')));
  } catch {
    throw new Error(`iperf3: no JSON report: ${json.slice(0, 300)}`);
  }
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const rx = doc.end?.sum_received;
  if (!rx || typeof rx.bits_per_second !== 'number') throw new Error(`iperf3: the report has no received sum: ${json.slice(0, 300)}`);
  return { mibPerS: rx.bits_per_second / 8 / 1048576, retransmits: doc.end?.sum_sent?.retransmits ?? 0, seconds: rx.seconds ?? 0 };
}

export async function iperf3(client: Node, server: Node, seconds: number): Promise<NetBaseline> {
  const ip = server.spec.clusterIp;
  await server.succeed(
    `systemctl stop ${UNIT} 2>/dev/null; systemctl reset-failed ${UNIT} 2>/dev/null; ` +
      `systemd-run --quiet --collect --unit=${UNIT} --property=RuntimeMaxSec=${seconds + 120} iperf3 --server --one-off --bind ${ip} --port ${PORT}`,
  );
  try {
    await server.waitUntilSucceeds(`ss -Htln "sport = :${PORT}" | grep -q .`, 30_000, 500);
    const r = await client.execute(`iperf3 --client ${ip} --port ${PORT} --time ${seconds} --json`, (seconds + 60) * 1000);
    try {
      return parseIperf3(r.stdout);
    } catch (e) {
      throw new NodeError(client.name, `iperf3 ${client.name} -> ${server.name} (${ip}) measured nothing: ${(e as Error).message}`, { lastSeen: `${r.stdout.slice(-400)}${r.stderr}`.trim() });
    }
  } finally {
    await server.execute(`systemctl stop ${UNIT} 2>/dev/null; systemctl reset-failed ${UNIT} 2>/dev/null; true`);
  }
}
