/**
 * The bare-metal HTTP API every deployer serves on :8070 (contract:
 * docs/baremetal-iso.md): phone-home (the install plan), progress, the
 * bundle, the desired system, the agent's report and the nodes' view.
 * Bearer tokens are compared by their sha256 (constant time); state goes
 * to chainfire (store.ts), so any deployer answers, leader or not.
 * The decisions (plan, progress, report) are pure and unit-tested; the
 * handler does the I/O.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { Etcd } from '../etcd.js';
import { DiskSelectorError, type Ids, type ReportedDisk, randomIds, renderDisko, validateReportedDisks } from './disko.js';
import { type BmDefs, desiredSystem } from './schema.js';
import { type BmReport, type BmStatus, bmView, readBm, updateStatus } from './store.js';

export const BUNDLE_DIR = '/var/lib/ultracloud/deployer/bundles';
/** Request bodies larger than this are refused (413): a phone-home is a few hundred bytes. */
export const MAX_BODY = 64 * 1024;

export const sha256hex = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');

/** Whether `header` (an Authorization header) carries a token whose sha256 is `wantSha256`; constant time. */
export function bearerMatches(header: string | undefined, wantSha256: string | undefined): boolean {
  const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!m || !wantSha256 || !/^[0-9a-f]{64}$/.test(wantSha256)) return false;
  return crypto.timingSafeEqual(Buffer.from(sha256hex(m[1]), 'hex'), Buffer.from(wantSha256, 'hex'));
}

export class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface PhoneHome {
  nodeId: string;
  hostname: string;
  firmware: 'uefi' | 'bios';
  mac: string;
  disks: ReportedDisk[];
}

export function parsePhoneHome(raw: unknown): PhoneHome {
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new HttpError(400, 'body: must be a JSON object');
  for (const f of ['nodeId', 'hostname', 'firmware', 'mac']) if (typeof o[f] !== 'string') throw new HttpError(400, `${f}: must be a string`);
  if (o.firmware !== 'uefi' && o.firmware !== 'bios') throw new HttpError(400, `firmware: must be "uefi" or "bios", got ${JSON.stringify(o.firmware)}`);
  let disks: ReportedDisk[];
  try {
    disks = validateReportedDisks(o.disks);
  } catch (e) {
    throw new HttpError(400, (e as Error).message);
  }
  return { nodeId: o.nodeId as string, hostname: o.hostname as string, firmware: o.firmware, mac: (o.mac as string).toLowerCase(), disks };
}

export interface InstallPlan {
  installId: string;
  hostname: string;
  address: string;
  mac: string;
  bundle: { url: string; sha256: string; bytes: number };
  disko: string;
  fstab: string;
  boot: { disk: string; rootUuid: string; espUuid: string | null };
  agentToken: string;
  deployers: string[];
  sshAuthorizedKeys: string[];
}

/**
 * The install plan for a phone-home whose token has been checked; throws HttpError 400 (hostname or MAC not the
 * record's) or DiskSelectorError (the class's disks do not fit the reported ones).
 */
export function buildPlan(defs: BmDefs, ph: PhoneHome, deployers: string[], installId: string, agentToken: string, ids: Ids = randomIds): InstallPlan {
  const rec = defs.nodes[ph.nodeId];
  if (ph.hostname !== rec.hostname) throw new HttpError(400, `hostname ${JSON.stringify(ph.hostname)} is not node ${ph.nodeId}'s (${rec.hostname})`);
  if (ph.mac !== rec.mac) throw new HttpError(400, `mac ${ph.mac} is not node ${ph.nodeId}'s (${rec.mac})`);
  const d = renderDisko(defs.classes[rec.class], ph.disks, ids, `node ${ph.nodeId} install ${installId}`);
  const bundle = defs.bundle!;
  return {
    installId,
    hostname: rec.hostname,
    address: rec.address,
    mac: rec.mac,
    bundle: { url: `/v1/bm/bundle/${bundle.sha256}`, sha256: bundle.sha256, bytes: bundle.bytes },
    disko: d.disko,
    fstab: d.fstab,
    boot: d.boot,
    agentToken,
    deployers,
    sshAuthorizedKeys: rec.sshAuthorizedKeys,
  };
}

/** A new install's status: attempts + 1, state installing (or failed with the selector error). */
export function startInstall(cur: BmStatus, installId: string, agentToken: string | null, firmware: string, failure?: string): BmStatus {
  return {
    ...cur,
    state: failure ? 'failed' : 'installing',
    installId,
    attempts: cur.attempts + 1,
    step: failure ? 'disk-selector' : 'phone-home:accepted',
    ...(failure ? { message: failure } : { message: undefined }),
    firmware,
    agentTokenSha256: agentToken ? sha256hex(agentToken) : undefined,
    report: null,
    convergedAt: null,
  };
}

/** A progress post on the current status; HttpError 400 for a bad body, 409 for another install than the current one. */
export function applyProgress(cur: BmStatus, raw: unknown): BmStatus {
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw new HttpError(400, 'body: must be a JSON object');
  if (typeof o.installId !== 'string' || typeof o.step !== 'string' || typeof o.ok !== 'boolean') throw new HttpError(400, 'body: needs installId (string), step (string), ok (boolean)');
  if (o.message !== undefined && typeof o.message !== 'string') throw new HttpError(400, 'message: must be a string');
  if (!/^[a-z][a-z0-9:_-]{0,63}$/.test(o.step)) throw new HttpError(400, `step: not a step name: ${JSON.stringify(o.step)}`);
  if (o.installId !== cur.installId) throw new HttpError(409, `install ${o.installId} is not the current one (${cur.installId ?? 'none'})`);
  if (cur.state === 'failed' && o.ok) throw new HttpError(409, `install ${o.installId} has failed (${cur.step}): phone home again`);
  const message = typeof o.message === 'string' ? o.message.slice(0, 2000) : undefined;
  if (!o.ok) return { ...cur, state: 'failed', step: o.step, message: message ?? `${o.step} failed` };
  const done = o.step === 'install:done' || o.step === 'reboot';
  return { ...cur, state: cur.state === 'converged' ? 'converged' : done ? 'installed' : cur.state === 'installed' ? 'installed' : 'installing', step: o.step, message };
}

/** An agent's report: converged only when healthy, for the current install and the current generation. */
export function applyReport(cur: BmStatus, raw: unknown, generation: string, now: number): BmStatus {
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw new HttpError(400, 'body: must be a JSON object');
  if (typeof o.installId !== 'string' || typeof o.generation !== 'string' || typeof o.healthy !== 'boolean' || !Array.isArray(o.checks)) {
    throw new HttpError(400, 'body: needs installId, generation (strings), healthy (boolean), checks (list)');
  }
  const checks = o.checks.slice(0, 64).map((c, i) => {
    const x = c as Record<string, unknown>;
    if (typeof x !== 'object' || x === null || typeof x.name !== 'string' || typeof x.ok !== 'boolean') throw new HttpError(400, `checks[${i}]: needs name (string), ok (boolean)`);
    return { name: x.name.slice(0, 64), ok: x.ok, output: typeof x.output === 'string' ? x.output.slice(-1000) : '' };
  });
  const report: BmReport = { installId: o.installId, generation: o.generation, healthy: o.healthy, checks, at: now };
  if (o.installId !== cur.installId) return cur; // an older install's report never counts
  const converged = report.healthy && report.generation === generation && cur.state !== 'failed';
  return {
    ...cur,
    state: cur.state === 'failed' ? 'failed' : converged ? 'converged' : 'installed',
    report,
    convergedAt: converged ? (cur.state === 'converged' && cur.convergedAt ? cur.convergedAt : now) : null,
  };
}

export interface BmContext {
  etcd: Etcd;
  /** The deployers' URLs a machine on the cluster switch uses, this one first. */
  deployers: () => string[];
  bundleDir?: string;
  log: (m: string) => void;
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Too large: read the rest and drop it, so the client gets the 413 (a reset would hide it); far too large: cut.
      if (size > 16 * MAX_BODY) req.destroy();
      else if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
      } catch {
        reject(new HttpError(400, 'body: not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** Handles a request under /v1/bm/ (the caller routes); answers JSON, or the bundle's bytes. */
export async function handleBm(ctx: BmContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const send = (code: number, body: unknown) => {
    if (res.headersSent) return;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const url = (req.url ?? '').split('?')[0];
  const method = req.method ?? 'GET';
  try {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && url === '/v1/bm/nodes') {
      const snap = await readBm(ctx.etcd);
      return send(200, bmView(snap));
    }
    if (method === 'GET' && (m = url.match(/^\/v1\/bm\/bundle\/([^/]+)$/))) {
      if (!/^[0-9a-f]{64}$/.test(m[1])) throw new HttpError(400, 'not a sha256');
      return await sendBundle(path.join(ctx.bundleDir ?? BUNDLE_DIR, `${m[1]}.tar.zst`), res);
    }
    if (method === 'POST' && url === '/v1/bm/phone-home') {
      const body = await readBody(req);
      const nodeId = (body as { nodeId?: unknown } | null)?.nodeId;
      if (typeof nodeId !== 'string') throw new HttpError(400, 'nodeId: must be a string');
      const snap = await readBm(ctx.etcd);
      if (!snap.defs.nodes[nodeId]) throw new HttpError(404, `unknown node ${JSON.stringify(nodeId)}`);
      if (!bearerMatches(req.headers.authorization, snap.defs.nodes[nodeId].tokenSha256)) throw new HttpError(403, `wrong bootstrap token for node ${nodeId}`);
      const ph = parsePhoneHome(body);
      const installId = crypto.randomBytes(8).toString('hex');
      const agentToken = crypto.randomBytes(24).toString('hex');
      let plan: InstallPlan;
      try {
        plan = buildPlan(snap.defs, ph, ctx.deployers(), installId, agentToken);
      } catch (e) {
        if (!(e instanceof DiskSelectorError)) throw e;
        await updateStatus(ctx.etcd, nodeId, (cur) => startInstall(cur, installId, null, ph.firmware, e.message));
        ctx.log(`bm ${nodeId}: phone-home refused: ${e.message}`);
        return send(422, { error: e.message, step: 'disk-selector' });
      }
      const st = await updateStatus(ctx.etcd, nodeId, (cur) => startInstall(cur, installId, agentToken, ph.firmware));
      ctx.log(`bm ${nodeId}: install ${installId} (attempt ${st.attempts}, ${ph.firmware}, boot disk ${plan.boot.disk})`);
      return send(200, plan);
    }
    if ((m = url.match(/^\/v1\/bm\/nodes\/([^/]+)\/(progress|desired|report)$/))) {
      const [, id, what] = m;
      const want = what === 'desired' ? 'GET' : 'POST';
      if (method !== want) throw new HttpError(405, `${want} only`);
      const snap = await readBm(ctx.etcd);
      if (!snap.defs.nodes[id]) throw new HttpError(404, `unknown node ${JSON.stringify(id)}`);
      const cur = snap.status.get(id)?.value;
      if (what === 'progress') {
        if (!bearerMatches(req.headers.authorization, snap.defs.nodes[id].tokenSha256)) throw new HttpError(403, `wrong bootstrap token for node ${id}`);
        const body = await readBody(req);
        const st = await updateStatus(ctx.etcd, id, (c) => applyProgress(c, body));
        if (st.state === 'failed') ctx.log(`bm ${id}: install ${st.installId} failed at ${st.step}: ${st.message}`);
        return send(200, { state: st.state, step: st.step });
      }
      if (!bearerMatches(req.headers.authorization, cur?.agentTokenSha256)) throw new HttpError(403, `wrong agent token for node ${id} (or not its current install)`);
      const desired = desiredSystem(snap.defs, id);
      if (what === 'desired') return send(200, { installId: cur!.installId, ...desired });
      const body = await readBody(req);
      const before = cur!.state;
      const st = await updateStatus(ctx.etcd, id, (c) => applyReport(c, body, desired.generation, Date.now()));
      if (st.state !== before) ctx.log(`bm ${id}: ${before} -> ${st.state} (generation ${desired.generation})`);
      return send(200, { state: st.state, generation: desired.generation });
    }
    throw new HttpError(404, 'unknown path (bm: POST phone-home, nodes/<id>/progress, nodes/<id>/report; GET bundle/<sha256>, nodes, nodes/<id>/desired)');
  } catch (e) {
    if (e instanceof HttpError) return send(e.code, { error: e.message, ...e.extra });
    ctx.log(`bm ${method} ${url}: ${(e as Error).message}`);
    send(503, { error: (e as Error).message });
  }
}

async function sendBundle(file: string, res: http.ServerResponse): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch {
    throw new HttpError(404, `no bundle ${path.basename(file)} on this deployer`);
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
  await new Promise<void>((resolve) => {
    const s = fs.createReadStream(file);
    s.on('error', () => {
      res.destroy();
      resolve();
    });
    s.on('end', () => resolve());
    s.pipe(res);
  });
}

/** The deployers' URLs from the role's node list (`name addr kind` lines), this node's first. */
export function deployerUrls(nodesFile: string, selfAddr: string, port: number): string[] {
  const addrs: string[] = [];
  for (const line of nodesFile.split('\n')) {
    const [, addr, kind] = line.trim().split(/\s+/);
    if (kind === 'control' && addr) addrs.push(addr);
  }
  const ordered = [selfAddr, ...addrs.filter((a) => a !== selfAddr)].filter((a) => a && a !== '127.0.0.1' && a !== '0.0.0.0');
  return [...new Set(ordered)].map((a) => `http://${a}:${port}`);
}
