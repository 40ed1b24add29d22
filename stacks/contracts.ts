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
  /**
   * The leader a quorum agrees on: asks each of `nodes` for the leader it
   * follows and returns that node's name only when a majority of the
   * cluster's members (2 of 3) answered and every answer names the same
   * leader. Throws otherwise, with what each node said: one answering
   * member never stands for "the members agree".
   */
  leader(nodes: Node[]): Promise<string>;
  put(node: Node, key: string, value: string): Promise<void>;
  /** Linearizable read. */
  get(node: Node, key: string): Promise<string | undefined>;
  stop(node: Node): Promise<void>;
  start(node: Node): Promise<void>;
  healthy(node: Node): Promise<boolean>;
}

export interface FlaredbOps {
  timing: { convergeS: number; failoverS: number; rejoinS: number };
  /** Whether `node` acts as a primary (takes writes). Throws when its server does not answer. */
  isPrimary(node: Node): Promise<boolean>;
  /**
   * The primary `node` replicates from (node name) and whether its
   * replication link is up; undefined when `node` is itself a primary.
   * Throws when its server does not answer.
   */
  replicaOf(node: Node): Promise<{ primary: string; linked: boolean } | undefined>;
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
  /**
   * The members of the pool the load balancer on `node` spreads `service`
   * over, as its runtime counters show them: whether each is up and how
   * many sessions it has taken since the balancer started.
   */
  pool(node: Node, service: 'chainfire'): Promise<{ member: string; up: boolean; sessions: number }[]>;
}

export interface CreditserviceOps {
  /** GET `path` straight from the service on `node` (not through the gateway), with `token` as bearer if given. */
  get(node: Node, path: string, token?: string): Promise<{ status: number; body: string }>;
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
  creditservice: CreditserviceOps;
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
  /*
   * The getters below throw (with the command's output) when the database or
   * switch does not answer: tests assert "nothing left" with them, and an
   * empty answer from a dead server must not pass for that.
   */
  switches(node: Node): Promise<string[]>;
  createPort(node: Node, sw: string, port: string, mac: string, ip: string): Promise<void>;
  deletePort(node: Node, port: string): Promise<void>;
  /** Logical ports of switch `sw` in the Northbound database; throws when it or the switch is not there. */
  ports(node: Node, sw: string): Promise<string[]>;
  /** The Southbound binding of a logical port: the chassis it is bound to and whether it is up. */
  binding(node: Node, port: string): Promise<{ chassis?: string; up: boolean } | undefined>;
  /** Ports on the integration bridge of a worker. */
  ovsPorts(node: Node): Promise<string[]>;
  /** The interface on a worker that attaches logical port `port` to its integration bridge (a guest's tap), if any. */
  portInterface(node: Node, port: string): Promise<string | undefined>;
  /**
   * Geneve tunnels of a worker's chassis to the other chassis: the remote
   * cluster address of each, and whether the switch made it a working port
   * (an OpenFlow port number, no error).
   */
  tunnels(node: Node): Promise<{ remoteIp: string; up: boolean }[]>;
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
  /** Parsed from the marker: the guest kernel's current clocksource is kvm-clock. */
  kvmClock?: boolean;
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
  /** Runs a one-container Pod whose container runs `script` (sh) to its end; returns its output and removes the Pod. */
  run(node: Node, name: string, script: string): Promise<string>;
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
