/**
 * What tests may ask of each role, whatever server plays it. A stack
 * implements these with its servers' own clients; tests never see ports or
 * package names.
 */
import type { Node } from '../harness/node.js';

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
}

export interface StackOps {
  iam: IamOps;
  chainfire: ChainfireOps;
  flaredb: FlaredbOps;
  flashdns: FlashdnsOps;
  fiberlb: FiberlbOps;
}
