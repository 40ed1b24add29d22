/**
 * Configuration from the environment (the env file the role's setup script
 * writes at boot: /run/ultracloud/deployer.env). Bad configuration is one
 * line and exit code 2, which systemd does not retry.
 */
import { NODE_KINDS, type NodeKind } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface Config {
  /** chainfire client URLs (http://10.100.0.11:2379,...). */
  etcd: string[];
  node: string;
  kind: NodeKind;
  /** This node's cluster address (replicas bind to it; ADDR in their env). */
  addr: string;
  /** Deployer HTTP: host:port. */
  listen: { host: string; port: number };
  /** Lease TTL asked for (etcd grants at least 1.5 election timeouts: 30 s on this cluster). */
  leaseTtlS: number;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const need = (k: string) => {
    const v = env[k]?.trim();
    if (!v) throw new ConfigError(`${k} is not set`);
    return v;
  };
  const etcd = need('DEPLOYER_ETCD').split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of etcd) if (!/^http:\/\/[^/\s]+:\d+$/.test(u)) throw new ConfigError(`DEPLOYER_ETCD: not an http://host:port URL: ${u}`);
  const kind = (env.DEPLOYER_KIND?.trim() || 'control') as NodeKind;
  if (!NODE_KINDS.includes(kind)) throw new ConfigError(`DEPLOYER_KIND: unknown kind ${kind} (known: ${NODE_KINDS.join(', ')})`);
  const listen = (env.DEPLOYER_LISTEN?.trim() || '0.0.0.0:8070').match(/^(.+):(\d+)$/);
  if (!listen || Number(listen[2]) < 1 || Number(listen[2]) > 65535) throw new ConfigError(`DEPLOYER_LISTEN: not host:port: ${env.DEPLOYER_LISTEN}`);
  const ttl = Number(env.DEPLOYER_LEASE_TTL_S?.trim() || '10');
  if (!Number.isInteger(ttl) || ttl < 2 || ttl > 300) throw new ConfigError(`DEPLOYER_LEASE_TTL_S: an integer 2..300, got ${env.DEPLOYER_LEASE_TTL_S}`);
  return { etcd, node: need('DEPLOYER_NODE'), kind, addr: env.DEPLOYER_ADDR?.trim() || '127.0.0.1', listen: { host: listen[1], port: Number(listen[2]) }, leaseTtlS: ttl };
}
