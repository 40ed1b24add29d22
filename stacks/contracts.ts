/**
 * What tests may ask of each role, whatever server plays it. A stack
 * implements these with its servers' own clients; tests never see ports or
 * package names.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Node } from '../harness/node.js';
import type { NodeSpec } from '../harness/topology.js';

export interface ChainfireOps {
  timing: { newLeaderS: number; rejoinS: number };
  members(node: Node): Promise<{ name: string; started: boolean }[]>;
  /** The node every reachable member agrees leads, if they agree. */
  leader(nodes: Node[]): Promise<string | undefined>;
  put(node: Node, key: string, value: string): Promise<void>;
  /** Linearizable read. */
  get(node: Node, key: string): Promise<string | undefined>;
  stop(node: Node): Promise<void>;
  start(node: Node): Promise<void>;
  healthy(node: Node): Promise<boolean>;
}

export interface FlaredbOps {
  timing: { convergeS: number; failoverS: number; rejoinS: number };
  /** 'master' | 'slave' as the server reports it. */
  role(node: Node): Promise<string>;
  /** The primary Sentinel on `node` points at (node name). */
  sentinelPrimary(node: Node): Promise<string | undefined>;
  set(node: Node, key: string, value: string): Promise<void>;
  /** SET then WAIT for `replicas` acknowledgements; returns how many acknowledged. */
  setAndWait(node: Node, key: string, value: string, replicas: number): Promise<number>;
  get(node: Node, key: string): Promise<string | undefined>;
  stop(node: Node): Promise<void>;
  start(node: Node): Promise<void>;
}

export interface FlashdnsOps {
  timing: { transferS: number };
  zone: string;
  /** A/TXT record through the primary's HTTP API; returns the FQDN. */
  createRecord(primary: Node, name: string, type: 'A' | 'TXT', content: string): Promise<string>;
  /** Answers for name/type from `server` asked on `via` (dig, UDP or TCP). */
  query(via: Node, serverIp: string, name: string, type: string, transport: 'udp' | 'tcp'): Promise<string[]>;
  primaryNode: string;
}

export interface FiberlbOps {
  /** `show info` over the runtime API, as key/value. */
  info(node: Node): Promise<Record<string, string>>;
}

export interface IamOps {
  timing: { replicateS: number; rejoinS: number };
  /** Adds a person to the directory through `node`. */
  addPerson(node: Node, uid: string): Promise<void>;
  hasPerson(node: Node, uid: string): Promise<boolean>;
  /** An access token (JWT) for a seeded directory user, issued by `node`. */
  issueToken(node: Node): Promise<{ token: string; user: string }>;
  /** OIDC discovery document and JWKS as `node` serves them. */
  discovery(node: Node): Promise<{ issuer: string; jwks_uri: string }>;
  jwks(node: Node): Promise<{ keys: Record<string, unknown>[] }>;
  /** Sets a person's credit quota (ultracloudQuota) in the directory through `node`. */
  setQuota(node: Node, uid: string, quota: number): Promise<void>;
  /** An access token for a seeded user (alice: operator; bob: tenant). */
  tokenFor(node: Node, user: 'alice' | 'bob'): Promise<string>;
}

export interface StackOps {
  iam: IamOps;
  chainfire: ChainfireOps;
  flaredb: FlaredbOps;
  flashdns: FlashdnsOps;
  fiberlb: FiberlbOps;
  prismnet: PrismnetOps;
  plasmavmc: PlasmavmcOps;
  coronafs: CoronafsOps;
  k8shost: K8shostOps;
  lightningstor: LightningstorOps;
}

export interface RaftStatus {
  /** "cluster member" once joined. */
  status: string;
  role: string;
  /** "self" or the leader's server id; absent while there is none. */
  leader?: string;
  servers: number;
}

export interface PrismnetOps {
  timing: { electionMs: number; bindS: number; chassisS: number };
  /** Raft status of the NB or SB database as the member on `node` sees it (control nodes). */
  clusterStatus(node: Node, db: 'nb' | 'sb'): Promise<RaftStatus>;
  /** Chassis names registered in the Southbound database (asked on a control node). */
  chassis(node: Node): Promise<string[]>;
  createSwitch(node: Node, name: string): Promise<void>;
  deleteSwitch(node: Node, name: string): Promise<void>;
  switches(node: Node): Promise<string[]>;
  createPort(node: Node, sw: string, port: string, mac: string, ip: string): Promise<void>;
  deletePort(node: Node, port: string): Promise<void>;
  ports(node: Node, sw: string): Promise<string[]>;
  /** The Southbound binding of a logical port: the chassis it is bound to and whether it is up. */
  binding(node: Node, port: string): Promise<{ chassis?: string; up: boolean } | undefined>;
  /** Ports on the integration bridge of a worker. */
  ovsPorts(node: Node): Promise<string[]>;
}

export interface GuestSpec {
  name: string;
  mac: string;
  /** OVN logical port the guest's NIC binds to (OVS iface-id); no NIC without it. */
  ovnPort?: string;
  /** addr/prefix inside the guest. */
  ip?: string;
  /** Address the guest pings until it answers. */
  peer?: string;
  memoryMiB?: number;
}

export interface PlasmavmcOps {
  timing: { answerS: number; guestUpS: { kvm: number; qemu: number }; pingS: number };
  /** What libvirt can give guests on this node: 'kvm' where /dev/kvm works, else 'qemu' (TCG). */
  domainType(node: Node): Promise<'kvm' | 'qemu'>;
  /** Defines and starts a tenant guest; returns its domain type. */
  startGuest(node: Node, guest: GuestSpec): Promise<'kvm' | 'qemu'>;
  /** The guest's serial console so far. */
  console(node: Node, name: string): Promise<string>;
  /** Destroys and undefines; no error when it does not exist. */
  deleteGuest(node: Node, name: string): Promise<void>;
  guests(node: Node): Promise<string[]>;
  /** What the node offers an inner guest: KVM needs the CPU flag, the module and /dev/kvm. */
  kvmAvailability(node: Node): Promise<{ usable: boolean; reason: string }>;
  /**
   * Boots the inner guest with plain `qemu-system-x86_64 -accel <accel>` (no
   * fallback) until it prints its userspace marker and powers off.
   */
  bootInnerGuest(node: Node, accel: 'kvm' | 'tcg', timeoutS: number): Promise<InnerBoot>;
}

export interface InnerBoot {
  accel: 'kvm' | 'tcg';
  /** The marker line the guest printed (ULTRACLOUD_GUEST_USERSPACE ...). */
  marker?: string;
  /** Parsed from the marker: hypervisor the guest kernel detected ("KVM", "none", ...). */
  hypervisor?: string;
  /** Guest uptime at the marker, seconds. */
  guestUptimeS?: number;
  /** Wall seconds from starting QEMU to its exit. */
  wallS: number;
  exitCode: number;
  /** Console (serial) output, tail. */
  console: string;
}

export interface CoronafsOps {
  exportName(node: NodeSpec): string;
  /** Reads `length` bytes at `offset` of `target`'s export over NBD, from `via`. */
  read(via: Node, target: NodeSpec, offset: number, length: number): Promise<Buffer>;
}

export interface K8shostOps {
  /** `podman kube play` of a one-container Pod whose container prints `marker`. */
  play(node: Node, name: string, marker: string): Promise<void>;
  /** Pod state as podman reports it (Running, Exited, ...), undefined when absent. */
  state(node: Node, name: string): Promise<string | undefined>;
  logs(node: Node, name: string): Promise<string>;
  down(node: Node, name: string): Promise<void>;
  pods(node: Node): Promise<string[]>;
}

export interface LightningstorOps {
  /** An S3 client talking to the proxy on `node` (through an SSH-forwarded channel); close() ends both. */
  s3(node: Node): Promise<{ client: S3Client; close(): Promise<void> }>;
}
