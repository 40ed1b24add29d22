/**
 * What tests may ask of each role, whatever server plays it. A stack
 * implements these with its servers' own clients; tests never see ports or
 * package names.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { LeaderTerm, LeadershipHistory } from '../harness/consistency/leadership.js';
import type { Node } from '../harness/remote/node.js';
import type { NodeSpec } from '../harness/topology.js';
import type { BmCheck, BmClass, BmDisk, BmFile, BmPartition, BmSelector, BmSystem } from '../services/deployer/src/baremetal/schema.js';
import type { BmNodeView, BmState } from '../services/deployer/src/baremetal/store.js';

export interface ChainfireOps {
  timing: { newLeaderS: number; rejoinS: number };
  /** The server's systemd unit on each member (what a nemesis pauses or kills). */
  unit: string;
  /** Its TCP ports: clients (the v3 API and its JSON gateway) and peers (Raft: what a partition cuts). */
  ports: { client: number; peer: number };
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
  /** The Redis server's systemd unit on each node (what a nemesis pauses or kills). */
  unit: string;
  /** Its TCP ports: Redis (clients and replication) and Sentinel; a partition of both cuts a node out of the set. */
  ports: { redis: number; sentinel: number };
  /** Sentinel's name for the set (SENTINEL get-master-addr-by-name). */
  master: string;
  /** Where every node keeps the password clients authenticate with. */
  passwordFile: string;
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
  /** Deletes `key` (any type) on the primary, found through the Sentinel on `node`; none there is no error. */
  del(node: Node, key: string): Promise<void>;
  stop(node: Node): Promise<void>;
  start(node: Node): Promise<void>;
  /** When the server on `node` last wrote its data to disk (unix seconds): what it comes back with after a crash. */
  lastSave(node: Node): Promise<number>;
}

export interface FlashdnsOps {
  timing: { transferS: number };
  zone: string;
  /** A/TXT record through the primary's HTTP API; returns the FQDN. */
  createRecord(primary: Node, name: string, type: 'A' | 'TXT', content: string): Promise<string>;
  /** Removes the name's records of `type` through the primary's HTTP API and notifies the secondaries; no error when there are none. */
  deleteRecord(primary: Node, name: string, type: 'A' | 'TXT'): Promise<void>;
  /**
   * What `server` answers for name/type, asked on `via` (UDP unless told):
   * the response code and the answer records. A server that sends no reply
   * at all is status NO_REPLY, never an empty answer; throws only when the
   * question could not be asked (the client failed on `via`).
   */
  lookup(via: Node, serverIp: string, name: string, type: string, transport?: 'udp' | 'tcp'): Promise<DnsLookup>;
  /**
   * The answers' data for name/type from `server` asked on `via` (as `dig
   * +short` prints them, TXT unquoted): empty for NXDOMAIN or NOERROR without
   * an answer. Throws naming the status for any other one (SERVFAIL,
   * REFUSED, no reply): "no answer" is never a broken server's silence.
   */
  query(via: Node, serverIp: string, name: string, type: string, transport: 'udp' | 'tcp'): Promise<string[]>;
  primaryNode: string;
}

/** A DNS response code as dig names it, or NO_REPLY: no reply came back at all (dig: "no servers could be reached"). */
export type DnsStatus = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'YXDOMAIN' | 'YXRRSET' | 'NXRRSET' | 'NOTAUTH' | 'NOTZONE' | 'BADVERS' | 'BADCOOKIE' | 'NO_REPLY';

/** One record of an answer section: `data` as dig prints it (TXT quoted). */
export interface DnsRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

/** One server's answer to one question. */
export interface DnsLookup {
  status: DnsStatus;
  answers: DnsRecord[];
  /** What the client said when no reply came (NO_REPLY), for the evidence. */
  detail?: string;
}

export interface FiberlbOps {
  /** `show info` over the runtime API, as key/value. */
  info(node: Node): Promise<Record<string, string>>;
  /**
   * The members of the pool the load balancer on `node` spreads `service`
   * over, as its runtime counters show them: whether each is up and how
   * many sessions it has taken since the balancer started.
   */
  pool(node: Node, service: string): Promise<{ member: string; up: boolean; sessions: number }[]>;
  timing: { reloadS: number; failoverS: number };
  /**
   * Publishes an HTTP service on `node` (idempotent; replaces the service's
   * frontend and backends when it is there): `node` holds the VIP on the
   * cluster network and its balancer spreads requests to it over the
   * backends that pass their health check. Returns once the running
   * balancer has the frontend.
   */
  publish(node: Node, service: LbService): Promise<void>;
  /** Removes the service's frontend, backends and VIP from `node`; no error when it is not there. */
  unpublish(node: Node, name: string): Promise<void>;
  /** Services whose frontend the running balancer on `node` has (strict: throws when it does not answer). */
  services(node: Node): Promise<string[]>;
  /**
   * `count` HTTP GETs of / to address:port sent from `via` as a tenant's
   * client would, one connection each: the status (0: no answer) and the
   * body's first line of each.
   */
  httpGet(via: Node, address: string, port: number, count: number): Promise<{ status: number; body: string }[]>;
}

export interface LbService {
  /** Letters, digits and dashes; names the frontend and backend. */
  name: string;
  /** The virtual address clients connect to, on the cluster network. */
  vip: string;
  port: number;
  /** HTTP servers behind it (a health check of GET / each). */
  backends: { name: string; address: string; port: number }[];
}

/** An account as creditservice shows it (`GET /v1/balance`), in credits. */
export interface CreditAccount {
  account: string;
  balance: number;
  reserved: number;
  available: number;
  quota: number;
}

export interface CreditserviceOps {
  /** The service's root on its own node (not through the gateway). */
  url: string;
  /** GET `path` straight from the service on `node` (not through the gateway), with `token` as bearer if given. */
  get(node: Node, path: string, token?: string): Promise<{ status: number; body: string }>;
  /** `method` `path` straight from the service on `node`, with `token` as bearer and `json` as the body if given; throws only when nothing answered. */
  request(node: Node, method: 'GET' | 'POST' | 'PUT', path: string, token?: string, json?: unknown): Promise<{ status: number; body: string }>;
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
  deployer: DeployerOps;
}

/**
 * Each role's deadlines (the `timing` of its ops), by role, for the roles
 * that have them: static data a stack exports (stacks/index.ts `timingOf`),
 * so a test's timeout is known at collection time without a cluster.
 */
export type StackTiming = {
  [K in keyof StackOps as StackOps[K] extends { timing: object } ? K : never]: StackOps[K] extends { timing: infer T } ? T : never;
};

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
  tunnels(node: Node): Promise<Tunnel[]>;
  /** Geneve packets (UDP 6081) this worker sent to and received from `peerIp` so far (host firewall counters). */
  genevePackets(node: Node, peerIp: string): Promise<{ tx: number; rx: number }>;
  /**
   * Makes logical router `router.name` (idempotent) with a port on each of
   * its tenant switches, holding the given address: the guests' gateway.
   */
  ensureRouter(node: Node, router: TenantRouter): Promise<void>;
  /** Removes the router, its ports and the switches' ports facing it; no error when it does not exist. */
  deleteRouter(node: Node, name: string): Promise<void>;
  /** Logical routers in the Northbound database (strict, as switches()). */
  routers(node: Node): Promise<string[]>;
  /**
   * Makes the router's tenant networks reachable from the cluster network
   * through `worker` (idempotent): a transit switch between the router and
   * an OVS internal port on the worker, the worker forwarding between its
   * cluster NIC and that port, a route on the router back to the cluster
   * network, and on each of `clients` a route to the tenant networks via
   * the worker. Run it again after adding networks to the router.
   */
  ensureGateway(node: Node, worker: Node, gw: TenantGateway, clients: Node[]): Promise<void>;
  /** Undoes ensureGateway (the same arguments); no error for parts that are already gone. */
  removeGateway(node: Node, worker: Node, gw: TenantGateway, clients: Node[]): Promise<void>;
  /**
   * A metadata port on tenant switch `sw`: an OVN `localport` holding
   * `address` (addr/prefix) on every worker in `workers`, where a small HTTP
   * server answers `GET /node` with that worker's name. Traffic to a
   * localport never leaves its chassis, so a guest asking it learns the
   * worker it runs on now (also after a live migration). Idempotent.
   */
  ensureMetadataPort(node: Node, workers: Node[], sw: string, address: string): Promise<{ url: string }>;
  /**
   * Before a live migration of the port's guest from chassis `from` to `to`:
   * the port may be bound on both (OVN multi-chassis binding), and `to`
   * takes the traffic only once the guest announces itself there (a RARP,
   * which QEMU sends when the migration completes). Undo with endMove.
   */
  beginMove(node: Node, port: string, from: string, to: string): Promise<void>;
  /** After the move (done or failed): the port binds wherever its interface is, as before beginMove. */
  endMove(node: Node, port: string): Promise<void>;
  /** Undoes ensureMetadataPort (the same node, workers and switch); no error for parts already gone. */
  removeMetadataPort(node: Node, workers: Node[], sw: string): Promise<void>;
  /**
   * A TCP port forward on a gateway worker: connections to `listenPort` on
   * any of its addresses are relayed to `target` on a tenant network
   * (reached through the worker's gateway port). Named, so it is found and
   * replaced; idempotent.
   */
  ensurePortForward(worker: Node, name: string, listenPort: number, target: { ip: string; port: number }): Promise<void>;
  /** Undoes ensurePortForward; none there is no error. */
  removePortForward(worker: Node, name: string): Promise<void>;
  /** Tenant networks (CIDRs) `node` routes through a PrismNet gateway, as its routing table shows them. */
  gatewayRoutes(node: Node): Promise<{ cidr: string; via: string }[]>;
}

export interface TenantRouter {
  name: string;
  /** Tenant switches it routes for, each with the router's address there (addr/prefix). */
  networks: { switch: string; address: string }[];
}

export interface TenantGateway {
  /** The logical router whose networks the gateway makes reachable. */
  router: string;
  /** Transit network (CIDR, /30 or larger) between router and worker: the router takes its first address, the worker the second. */
  transit: string;
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
  /** Default route via this address (a PrismNet router's address on the guest's switch). */
  gateway?: string;
  /** Serve HTTP on port 80, the guest's name as the body. */
  http?: boolean;
  memoryMiB?: number;
  /** Boot image (initrd) staged on the node under this name (see PlasmavmcOps.imagePath); default: the image's own. */
  image?: string;
  /**
   * Root disk (virtio, the guest's /dev/vda): a CoronaFS volume holding an
   * ext4 root (a guest image) that the guest initrd mounts and switches to,
   * running `init` there.
   */
  rootDisk?: NbdExport;
  /** The program the root disk's system starts with (ultracloud.init=); with rootDisk. */
  init?: string;
  /** Data disk (virtio; /dev/vda, or /dev/vdb after a root disk): a CoronaFS volume's NBD export. */
  dataDisk?: NbdExport;
  /** What the guest does with its data disk: write its first MiB with `pattern` lines, or check they are there. */
  diskOp?: { op: 'write' | 'check'; pattern: string };
}

export interface PlasmavmcOps {
  timing: { answerS: number; guestUpS: { kvm: number; qemu: number }; pingS: number };
  /** What libvirt can give guests on this node: 'kvm' where /dev/kvm works, 'qemu' (TCG) where libvirt says KVM is not supported; throws when libvirt does not answer. */
  domainType(node: Node): Promise<'kvm' | 'qemu'>;
  /** Defines and starts a tenant guest; returns its domain type. */
  startGuest(node: Node, guest: GuestSpec): Promise<'kvm' | 'qemu'>;
  /** The guest's serial console so far. */
  console(node: Node, name: string): Promise<string>;
  /** Destroys and undefines; no error when it does not exist. */
  deleteGuest(node: Node, name: string): Promise<void>;
  guests(node: Node): Promise<string[]>;
  /** Powers the guest off (no ACPI: the inner guest has none) and keeps its definition; no error when it is not running. */
  stopGuest(node: Node, name: string): Promise<void>;
  /** libvirt's state of the guest ("running", "shut off", ...), undefined when it is not defined; throws when libvirt does not answer. */
  guestState(node: Node, name: string): Promise<string | undefined>;
  /** Power-cycles a defined guest (destroy, start): a new boot of the same definition and disks. */
  restartGuest(node: Node, name: string): Promise<void>;
  /**
   * Live-migrates a running guest from `from` to `to` (`virsh migrate --live`
   * over the cluster network; its disks must be network disks both reach).
   * The definition moves with it. Returns libvirt's wall time for the move.
   */
  migrateGuest(from: Node, to: Node, name: string): Promise<{ seconds: number }>;
  /** Where on a worker a boot image named `name` is staged (a download's destination) for GuestSpec.image. */
  imagePath(name: string): string;
  /** Boot images staged on `node` (strict: throws when the node cannot be asked). */
  images(node: Node): Promise<string[]>;
  /** Removes a staged boot image; no error when absent. */
  deleteImage(node: Node, name: string): Promise<void>;
  /** The image's own guest boot image (initrd) as `node` has it: what an operator publishes to the object store. */
  baseImage(node: Node): Promise<Buffer>;
  /** `initrd` with `id` stamped in (an appended cpio holding /etc/ultracloud-image), which the guest prints (ULTRACLOUD_GUEST_IMAGE). */
  stampImage(initrd: Buffer, id: string): Buffer;
  /** The bytes a guest's diskOp 'write' puts at the start of its data disk (and 'check' expects there). */
  diskPattern(pattern: string): Buffer;
  /** What the node offers an inner guest: KVM needs the CPU flag, the module and /dev/kvm. */
  kvmAvailability(node: Node): Promise<KvmAvailability>;
  /**
   * Boots the inner guest with plain `qemu-system-x86_64 -accel <accel>` (no
   * fallback) until it prints its userspace marker and powers off.
   */
  bootInnerGuest(node: Node, accel: 'kvm' | 'tcg', timeoutS: number): Promise<InnerBoot>;
}

/** A worker's Geneve tunnel port to another chassis. */
export interface Tunnel {
  remoteIp: string;
  /** The switch made it a working port: an OpenFlow port number, no error. */
  up: boolean;
}

export interface KvmAvailability {
  usable: boolean;
  /** The node's report as read: `cpu=svm module=kvm_amd dev=yes`. */
  facts: string;
  /** Each missing fact in words (empty when usable). */
  missing: string[];
  reason: string;
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

/** What a new volume starts with (sparse zeros without it). */
export interface VolumeContent {
  /** A disk image file on the volume's node (qcow2 or raw, e.g. from stageImage), converted into the volume; the volume must be at least its virtual size. */
  image?: string;
  /** An ext4 filesystem holding these files (path → content, under its root). */
  files?: Record<string, string>;
}

export interface CoronafsOps {
  exportName(node: NodeSpec): string;
  /** Reads `length` bytes at `offset` of `target`'s export over NBD, from `via`. */
  read(via: Node, target: NodeSpec, offset: number, length: number): Promise<Buffer>;
  /** Creates volume `name` (sparse raw, `sizeMiB`) on `node`, its home, and exports it over NBD from there; throws when it exists. */
  createVolume(node: Node, name: string, sizeMiB: number, content?: VolumeContent): Promise<Volume>;
  /**
   * Copies a disk image file from the host into `node`'s image cache (kept
   * by its sha256; a copy already there with that sum is reused, other
   * images there are dropped) and returns its path there: a
   * VolumeContent.image.
   */
  stageImage(node: Node, localFile: string, sha256: string): Promise<string>;
  /** The volume as `node` holds it (file and export), undefined when it has no file there. */
  volume(node: Node, name: string): Promise<Volume | undefined>;
  /** Names of the volumes with a file on `node` (strict: throws when the node cannot be asked). */
  volumes(node: Node): Promise<string[]>;
  /** Names of the volumes `node` exports right now (their export services running; strict). */
  exports(node: Node): Promise<string[]>;
  /**
   * Whether the export is served, asked from `via` (an NBD handshake and the
   * server's list of exports): true when the server lists it; false only on
   * a definite answer (the server lists others, or the node refuses the
   * connection: nothing listens on its port); throws with the evidence on
   * anything else (a timeout, an unreachable node, a broken handshake).
   */
  exportAnswers(via: Node, exp: NbdExport): Promise<boolean>;
  /** Reads `length` bytes at `offset` of a volume's export over NBD, from `via`. */
  readVolume(via: Node, exp: NbdExport, offset: number, length: number): Promise<Buffer>;
  /**
   * Moves `volume` to `to` for a guest that will run there: `to` copies it
   * from its export over NBD, compares the copy with the source, exports it;
   * then its old home stops that export and removes its file. Returns the
   * volume at its new home.
   */
  materialize(to: Node, from: Node, volume: Volume): Promise<Volume>;
  /** Stops and disables the volume's export and removes its files on `node`; no error when absent. */
  deleteVolume(node: Node, name: string): Promise<void>;
  /** The storage benchmark's operations on this role (cluster bench-storage). */
  bench: CoronafsBenchOps;
}

/** TCP throughput between two nodes' cluster addresses (iperf3, client to server), as the receiver counted it. */
export interface NetBaseline {
  mibPerS: number;
  /** TCP retransmits the sender counted. */
  retransmits: number;
  seconds: number;
}

/** One fio job of the storage bench. */
export interface FioJob {
  name: string;
  rw: 'write' | 'read' | 'randread';
  /** fio's bs (1M, 4k). */
  blockSize: string;
  iodepth: number;
  /** The region the job works on (and a sequential job's whole transfer). */
  sizeMiB: number;
  /** A random job runs this long (time based); sequential jobs run once over sizeMiB. */
  runtimeS?: number;
}

export interface FioResult {
  mibPerS: number;
  iops: number;
  seconds: number;
}

/** What fio runs against: a scratch file on the node's own disk (direct I/O), or an NBD export (fio's nbd engine, libnbd). */
export type FioTarget = { kind: 'disk'; name: string } | { kind: 'export'; export: NbdExport };

/** How a volume export's server opens its file: host page cache use and the AIO backend (QEMU's names). */
export interface ExportMode {
  /** none: O_DIRECT; writeback: page cache; unsafe: page cache, flushes ignored. */
  cache: 'none' | 'writeback' | 'unsafe';
  aio: 'threads' | 'native' | 'io_uring';
}

export interface CoronafsBenchOps {
  /** TCP throughput from `client` to `server` over the cluster network for `seconds`. */
  network(client: Node, server: Node, seconds: number): Promise<NetBaseline>;
  /** Runs one fio job on `node` against `target`; throws with fio's words when it fails. */
  fio(node: Node, target: FioTarget, job: FioJob): Promise<FioResult>;
  /** Removes the disk targets' scratch files on `node`. */
  cleanDisk(node: Node): Promise<void>;
  /** `via` fills the whole export with fresh random bytes over NBD; their sha256 and the seconds the write took. */
  writeRandom(via: Node, exp: NbdExport, sizeMiB: number): Promise<{ sha256: string; seconds: number }>;
  /** `via` reads the whole export over NBD; its sha256 and the seconds the read took. */
  readAll(via: Node, exp: NbdExport): Promise<{ sha256: string; bytes: number; seconds: number }>;
  /** The cache x aio modes of a volume export there are (QEMU decides which it supports: localExport). */
  exportModes: ExportMode[];
  /**
   * A scratch volume of `sizeMiB` on `node` exported over NBD on the node's
   * loopback only, by one server process opened with `mode`; `unsupported`
   * (QEMU's words) when the server refuses the mode. close() stops the
   * server and removes the volume.
   */
  localExport(node: Node, name: string, sizeMiB: number, mode: ExportMode): Promise<{ export: NbdExport; close(): Promise<void> } | { unsupported: string }>;
}

/** An NBD export: server address, port and export name. */
export interface NbdExport {
  host: string;
  port: number;
  name: string;
}

/** A CoronaFS volume: a file on its home node, served by that node as an NBD export. */
export interface Volume {
  name: string;
  /** Home node (name). */
  node: string;
  sizeBytes: number;
  export: NbdExport;
  /** Whether the export service runs. */
  exported: boolean;
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
  /**
   * `podman kube play --replace` of Kubernetes objects (Pods, and Services,
   * which podman ignores: see endpoints) as one YAML file named `name` on
   * `node`; returns once podman has started them. Pods get no podman
   * network: a Pod annotated with a PrismNet logical port
   * (`prismnet.ultracloud.io/{port,mac,address,gateway}`, the port made in
   * the Northbound database beforehand) gets it as its eth0, an OVS port on
   * the node's br-int that the node's chassis binds.
   */
  apply(node: Node, name: string, objects: KubeObject[]): Promise<void>;
  /** `podman kube down` of what apply(node, name) played, and its Pods' PrismNet NICs off br-int; no error when there is none. */
  remove(node: Node, name: string): Promise<void>;
  /**
   * Where a Service's traffic goes: each Pod on `nodes` whose labels match
   * the Service's selector, all its containers running, gives its address
   * (its PrismNet NIC's, as its network namespace has it; the node's cluster
   * address for a hostNetwork Pod) and the Service's targetPort.
   */
  endpoints(nodes: Node[], service: KubeObject): Promise<{ node: string; address: string; port: number }[]>;
  /** eth0 of a Pod on `node` as its network namespace has it (address with prefix, MAC, MTU, default gateway); undefined when it has none. */
  nic(node: Node, pod: string): Promise<{ address: string; mac: string; mtu: number; gateway?: string } | undefined>;
  /** Containers on `node`, running or not (podman ps -a; strict). */
  containers(node: Node): Promise<string[]>;
}

/** A Kubernetes object as its YAML has it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface LightningstorOps {
  /** An S3 client talking to the proxy on `node` (through an SSH-forwarded channel); close() ends both. */
  s3(node: Node): Promise<{ client: S3Client; close(): Promise<void> }>;
  /**
   * `via` downloads object `bucket`/`key` over S3 (a signed GET from the
   * node's own S3 client) from the proxy on `proxy` into file `dest` on
   * `via`; returns its size and sha256. Throws with the S3 error when the
   * GET is refused or the proxy does not answer.
   */
  download(via: Node, proxy: Node, bucket: string, key: string, dest: string): Promise<{ bytes: number; sha256: string }>;
  /** Every object key in `bucket` through the proxy on `node`; undefined when there is no such bucket. */
  objectKeys(node: Node, bucket: string): Promise<string[] | undefined>;
  /** Deletes every object of `bucket` (and the bucket with `andBucket`) through the proxy on `node`; none there is no error. */
  emptyBucket(node: Node, bucket: string, andBucket: boolean): Promise<void>;
  /** The storage benchmark's operations on this role (cluster bench-storage). */
  bench: LightningstorBenchOps;
  /** Stops the S3 proxy on `node` (a control node); its S3 endpoint refuses connections until startProxy. */
  stopProxy(node: Node): Promise<void>;
  /** Starts the S3 proxy on `node` and waits until it answers its health check. */
  startProxy(node: Node): Promise<void>;
}

/** A set of objects the bench moves: `count` objects of `sizeMiB` random bytes each, named after the set. */
export interface ObjectSet {
  name: string;
  count: number;
  sizeMiB: number;
}

/** One timed S3 transfer of a whole object set, on the client's clock. */
export interface S3Transfer {
  seconds: number;
  bytes: number;
  objects: number;
}

export interface LightningstorBenchOps {
  /** TCP throughput from `client` to `server` over the cluster network for `seconds`. */
  network(client: Node, server: Node, seconds: number): Promise<NetBaseline>;
  /** Stages the set's files (random bytes) on `client` and makes `bucket` through the proxy on `proxy`. */
  prepare(client: Node, proxy: Node, bucket: string, set: ObjectSet): Promise<void>;
  /** `client` uploads the staged set with its own S3 client, in `parallel` streams of objects; throws with the client's words on a refused request. */
  upload(client: Node, proxy: Node, bucket: string, set: ObjectSet, parallel: number): Promise<S3Transfer>;
  /** `client` downloads the set the same way and checks every object against its staged file (sha256); throws when one differs. */
  download(client: Node, proxy: Node, bucket: string, set: ObjectSet, parallel: number): Promise<S3Transfer>;
  /** Removes the staged files on `client`, and the bucket's objects and the bucket through `proxy`; none there is no error. */
  cleanup(client: Node, proxy: Node, bucket: string): Promise<void>;
}

/** A native service definition as the deployer schedules it (services.nix, validated). */
export interface DeployerServiceDef {
  name: string;
  command: string;
  health: { command: string; intervalS: number; timeoutS: number };
  replicas: number;
  /** Replica i listens on port + i. */
  port?: number;
  placement: { kinds: string[]; antiAffinity: 'required' | 'preferred' | 'none'; maxPerNode: number };
}

/** What the deployer shows (from chainfire, so also with every deployer stopped). */
export interface DeployerView {
  at: number;
  /** The deployer that leads, if any. */
  leader: string | null;
  /** False, with the reason, when no deployer reconciles. */
  reconciling: boolean;
  reason?: string;
  nodes: { name: string; kind: string; addr: string; alive: boolean; draining: boolean; instances: { instance: string; state: string; healthy: boolean; detail?: string }[] }[];
  /** Per service: replicas wanted, slots placed, healthy instances, primaries per node, instances still leaving, problems. */
  services: { name: string; replicas: number; placed: number; healthy: number; nodes: Record<string, number>; leaving: number; problems: string[] }[];
  problems: { service: string; kind: string; message: string }[];
}

/** One sample of the services' health, taken on a node every second while a sampler runs. */
export interface DeployerSample {
  /** Node clock, ms since the epoch. */
  at: number;
  /** The leader the answering deployer saw; null when the sample failed. */
  leader: string | null;
  services: { name: string; replicas: number; healthy: number; placed: number; leaving: number; nodes: Record<string, number> }[];
  error?: string;
}

/** Where chainfire's history stood when a leadership run began (DeployerOps.leadershipMark). */
export interface LeadershipMark {
  revision: number;
  /** The reading node's clock (s since the epoch): the deployers' journals are read from a minute before it. */
  atS: number;
  /** The term held then, if any. */
  term?: LeaderTerm;
}

export interface DeployerOps {
  /**
   * Deadlines (s): a change (seed, drain) reconciled and healthy; a failed
   * worker's replicas healthy elsewhere (the agent's lease TTL plus a pass
   * and a start); a new leader after the leader stops.
   */
  timing: { settleS: number; failoverS: number; handoverS: number; leaseS: number };
  /** The stack's service definitions (services.nix evaluated with nix-instantiate on the host, validated). */
  definitions(): Promise<DeployerServiceDef[]>;
  /** Definitions from a Nix expression (an attribute set of services), evaluated and validated the same way. */
  evaluate(nixExpr: string): Promise<DeployerServiceDef[]>;
  /** Writes definitions through `node` (add or replace; `exact`: also remove the others). */
  seed(node: Node, defs: DeployerServiceDef[], exact?: boolean): Promise<void>;
  /** Removes services (their instances stop). */
  remove(node: Node, names: string[]): Promise<void>;
  /** The deployer's view, read from chainfire through `node`. */
  status(node: Node): Promise<DeployerView>;
  drain(node: Node, target: string): Promise<void>;
  undrain(node: Node, target: string): Promise<void>;
  /** The deployer's systemd unit on the control nodes (what a nemesis freezes or kills). */
  unit: string;
  /** Chainfire's revision and the leader's term now, read through `via` (a control node): a leadership history starts here. */
  leadershipMark(via: Node): Promise<LeadershipMark>;
  /** Every term and leader write in chainfire since `mark`, and every action the deployers on `deployers` logged as leader (issue 28). */
  leadershipHistory(via: Node, deployers: Node[], mark: LeadershipMark): Promise<LeadershipHistory>;
  /** Stops/starts the deployer (control nodes) or the agent (workers) on `node`. */
  stop(node: Node): Promise<void>;
  start(node: Node): Promise<void>;
  /** What an instance serves when asked from `via` over the cluster network (its HTTP page), or throws. */
  fetch(via: Node, addr: string, port: number): Promise<string>;
  /** Starts sampling the services' health every second on `node` (replacing a sampler there). */
  startSampler(node: Node): Promise<void>;
  /** The samples so far (the sampler keeps running). */
  samples(node: Node): Promise<DeployerSample[]>;
  /** Stops the sampler and removes its samples. */
  stopSampler(node: Node): Promise<void>;
  /** Bare-metal bootstrap (docs/baremetal-iso.md): bundles, definitions, the nodes' install state. */
  baremetal: BaremetalOps;
}

/*
 * Bare-metal bootstrap (docs/baremetal-iso.md): the definitions document
 * `deployerctl bm-seed` takes and the nodes' state deployer shows. The
 * deployer defines both (services/deployer/src/baremetal: schema.ts
 * validates the document, store.ts makes the view); these are its types
 * under the contract's names, and the document as a test may write it
 * (BaremetalDefs: fields the deployer defaults may be left out).
 */
/** A file of a system; `mode` is an octal string, "0644". */
export type BaremetalFile = BmFile;
/** `unit`: `systemctl is-active`; `exec`: `sh -c` exits 0 (within timeoutS, default 20). */
export type BaremetalCheck = BmCheck;
export type BaremetalSystem = BmSystem;
/** A serial glob (`UCSYS-*`) or a size range; each must match exactly one reported disk. */
export type BaremetalSelector = BmSelector;
/** A partition; its name ([a-z][a-z0-9-]{0,10}) is also the filesystem label; no size: the rest of the disk (the last partition only). */
export type BaremetalPartition = BmPartition;
export type BaremetalDisk = BmDisk;
export type BaremetalClass = BmClass;
export interface BaremetalNodeRecord {
  class: string;
  hostname: string;
  /** sha256 (hex) of the node's bootstrap token. */
  tokenSha256: string;
  mac: string;
  /** The installer's address on the cluster switch, CIDR (10.100.0.41/24). */
  address: string;
  sshAuthorizedKeys?: string[];
  /** Appended to the class's system (files replace by path, checks by name). */
  override?: Partial<BaremetalSystem>;
}
export interface BaremetalDefs {
  bundle?: { sha256: string; bytes: number } | null;
  systems: Record<string, Partial<BaremetalSystem>>;
  classes: Record<string, BaremetalClass>;
  nodes: Record<string, BaremetalNodeRecord>;
}
export type BaremetalState = BmState;
/**
 * One node as `GET /v1/bm/nodes` shows it (no tokens): `attempts` counts its
 * phone-homes (each starts a new install), `step` is the last progress step
 * ("disk-selector" when the plan did not fit the disks), `report` the
 * agent's last for the current install.
 */
export type BaremetalNodeStatus = BmNodeView;

export interface BaremetalOps {
  /** Copies the install bundle onto a deployer node (unless a file with that sha256 is there) and verifies it. */
  stageBundle(node: Node, hostFile: string, sha256: string): Promise<void>;
  /** Validates and writes the definitions through `node` (replaces them; keeps the state of nodes still defined). */
  seed(node: Node, defs: BaremetalDefs): Promise<void>;
  /** The bare-metal nodes as the deployer on `node` shows them (HTTP). */
  nodes(node: Node): Promise<BaremetalNodeStatus[]>;
  /** The URL a machine on the cluster switch reaches the deployer on `node` at (http://<cluster address>:8070). */
  url(node: Node): string;
}
