/**
 * Cluster topology: nodes, addresses, MACs, boot tiers and the SSH forward.
 * Knows nothing of roles, servers or test suites: a stack maps node kinds to
 * roles and adds its servers' forwards (Stack.forwards, harness/stack.ts
 * nodesFor); which roles a profile boots is the stacks' (stacks/profiles.ts),
 * which Vitest projects it serves the tests' (fixtures/projects.ts).
 */
export type NodeKind = 'control' | 'worker' | 'gateway';

export interface ForwardSpec {
  /** Name shown by `cluster status` and used by tests (ssh, and the stack's: Stack.forwards). */
  name: string;
  guestPort: number;
  /** Offset from the port base; the host port is base + offset. */
  offset: number;
}

export interface NodeSpec {
  name: string;
  index: number;
  kind: NodeKind;
  /** Boot tier: all nodes of a tier start together; tier n+1 waits for tier n. */
  tier: number;
  clusterIp: string;
  clusterPrefix: number;
  clusterMac: string;
  mgmtMac: string;
  memoryMiB: number;
  /** Virtual CPUs (`-smp`): NODE_VCPUS. */
  vcpus: number;
  forwards: ForwardSpec[];
}

export interface Profile {
  defaultPortBase: number;
  nodes: NodeSpec[];
  /** One line for `cluster status` and the help. */
  description: string;
}

/**
 * One vCPU a node. Two were tried (multi-threaded TCG runs each vCPU as its
 * own thread): node05's power cycle on an idle cluster was ready in 65 s
 * instead of 101-119 s, but the cold boot took 542 s instead of 501 s, and
 * in the smoke suite node04 stopped answering (SSH and its serial console
 * dead, the vCPUs busy in the kernel) while its nested-KVM inner guest ran
 * (docs/measurements.md, 2026-12-08). A verdict that depends on that is
 * worse than the time it saves.
 */
export const NODE_VCPUS = 1;

function node(index: number, kind: NodeKind, tier: number, ip: string, memoryMiB: number, prefix = ''): NodeSpec {
  const nn = String(index).padStart(2, '0');
  return {
    name: `${prefix}node${nn}`,
    index,
    kind,
    tier,
    clusterIp: ip,
    clusterPrefix: 24,
    // Fixed MACs as upstream used on its VDE switch.
    clusterMac: `52:54:00:12:34:${nn}`,
    mgmtMac: `52:54:00:aa:00:${nn}`,
    memoryMiB,
    vcpus: NODE_VCPUS,
    forwards: [{ name: 'ssh', guestPort: 22, offset: index }],
  };
}

const profiles = {
  default: {
    description: 'six nodes: control plane node01-03, workers node04-05, gateway node06; every role',
    defaultPortBase: 22200,
    nodes: [
      node(1, 'control', 1, '10.100.0.11', 1024),
      node(2, 'control', 1, '10.100.0.12', 1024),
      node(3, 'control', 1, '10.100.0.13', 1024),
      node(4, 'worker', 2, '10.100.0.21', 1536),
      node(5, 'worker', 2, '10.100.0.22', 1536),
      // Gateway roles need only the control plane, so node06 boots with the workers (one tier fewer to wait out).
      // Its servers' forwards are the stack's (Stack.forwards.gateway).
      node(6, 'gateway', 2, '10.100.0.31', 1024),
    ],
  },
  // Upstream's five-node storage profile, for the storage bench: only the
  // roles it measures (stacks/profiles.ts), so it boots in less time and memory and can run
  // beside the default cluster. Its own switch, state dir (<state dir>-storage)
  // and forwards (base 22300: the default's reach up to 22290), so the same
  // cluster addresses and MACs never meet the default's.
  storage: {
    description: 'five nodes for the storage bench: storage-node01-03 (CoronaFS controller, S3 proxies), storage-node04-05 (node-local exports, Swift storage); roles base, coronafs, lightningstor',
    defaultPortBase: 22300,
    // One tier: no storage role waits on another node to start.
    nodes: [
      node(1, 'control', 1, '10.100.0.11', 1024, 'storage-'),
      node(2, 'control', 1, '10.100.0.12', 1024, 'storage-'),
      node(3, 'control', 1, '10.100.0.13', 1024, 'storage-'),
      node(4, 'worker', 1, '10.100.0.21', 1536, 'storage-'),
      node(5, 'worker', 1, '10.100.0.22', 1536, 'storage-'),
    ],
  },
} satisfies Record<string, Profile>;

export type ProfileName = keyof typeof profiles;
export const PROFILES: Record<ProfileName, Profile> = profiles;

export function hostPort(base: number, fwd: ForwardSpec): number {
  return base + fwd.offset;
}

export function tiers(nodes: NodeSpec[]): NodeSpec[][] {
  const byTier = new Map<number, NodeSpec[]>();
  for (const n of nodes) byTier.set(n.tier, [...(byTier.get(n.tier) ?? []), n]);
  return [...byTier.keys()].sort((a, b) => a - b).map((t) => byTier.get(t)!);
}
