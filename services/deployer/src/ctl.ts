/**
 * `deployerctl`: the operator's CLI on the nodes. It talks to chainfire
 * itself (not to a deployer), so it works with every deployer stopped and
 * then says that nothing reconciles.
 *
 *   deployerctl status [--json]        nodes, assignments, health, problems, the leader
 *   deployerctl seed FILE|- [--exact]  validate and write definitions (JSON as nix-instantiate prints it);
 *                                      --exact also removes services not in FILE
 *   deployerctl remove NAME...         remove services (their instances stop)
 *   deployerctl drain NODE | undrain NODE
 *   deployerctl bm-seed FILE|-         validate and write the bare-metal definitions (replaces them; keeps the
 *                                      install status of nodes still defined with the same token; `{}` removes them all)
 *   deployerctl bm-status [--json]     bare-metal nodes: state, install, attempts, step, report
 */
import fs from 'node:fs';
import { validateBmDefs } from './baremetal/schema.js';
import { bmView, readBm, writeDefs } from './baremetal/store.js';
import { ConfigError } from './config.js';
import { Etcd } from './etcd.js';
import { K, PREFIX, readState } from './state.js';
import { validateServices } from './schema.js';
import { buildView } from './view.js';

const USAGE = 'usage: deployerctl status [--json] | seed FILE|- [--exact] | remove NAME... | drain NODE | undrain NODE | bm-seed FILE|- | bm-status [--json]';

export async function runCtl(args: string[], env: Record<string, string | undefined>, out: (s: string) => void): Promise<number> {
  const endpoints = (env.DEPLOYER_ETCD ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new ConfigError('DEPLOYER_ETCD is not set (source /run/ultracloud/deployer.env)');
  const etcd = new Etcd(endpoints);
  const [cmd, ...rest] = args;
  switch (cmd) {
    case 'status': {
      const v = buildView(await readState(etcd), Date.now());
      if (rest.includes('--json')) {
        out(JSON.stringify(v));
        return 0;
      }
      out(`leader: ${v.leader ?? 'none'}${v.reconciling ? '' : ` (${v.reason})`}`);
      for (const n of v.nodes) {
        out(`node ${n.name} ${n.kind} ${n.alive ? 'alive' : 'DOWN'}${n.draining ? ' draining' : ''}: ${n.instances.map((i) => `${i.instance}${i.state === 'leaving' ? '(leaving)' : ''}${i.healthy ? '' : '(unhealthy)'}`).join(' ') || '-'}`);
      }
      for (const s of v.services) out(`service ${s.name}: ${s.healthy}/${s.replicas} healthy, ${s.placed} placed${s.problems.length ? `; ${s.problems.join('; ')}` : ''}`);
      for (const i of v.invalid) out(`invalid ${i.key}: ${i.error}`);
      return 0;
    }
    case 'seed': {
      const file = rest.find((a) => !a.startsWith('--'));
      if (!file) throw new ConfigError(USAGE);
      const defs = validateServices(JSON.parse(fs.readFileSync(file === '-' ? 0 : file, 'utf8')));
      for (const d of defs) {
        const { name, ...body } = d;
        await etcd.put(K.service(name), JSON.stringify(body));
      }
      let removed: string[] = [];
      if (rest.includes('--exact')) {
        const st = await readState(etcd);
        removed = [...st.services.map((s) => s.name), ...st.invalid.map((i) => i.key.split('/').pop()!)].filter((n) => !defs.some((d) => d.name === n));
        for (const n of removed) await etcd.del(K.service(n));
      }
      out(`seeded ${defs.map((d) => `${d.name} (${d.replicas})`).join(', ') || 'nothing'}${removed.length ? `; removed ${removed.join(', ')}` : ''}`);
      return 0;
    }
    case 'remove': {
      if (rest.length === 0) throw new ConfigError(USAGE);
      for (const n of rest) await etcd.del(K.service(n));
      out(`removed ${rest.join(', ')}`);
      return 0;
    }
    case 'drain':
    case 'undrain': {
      const node = rest[0];
      if (!node || rest.length !== 1 || !/^[a-z0-9-]+$/.test(node)) throw new ConfigError(USAGE);
      if (cmd === 'drain') await etcd.put(K.drain(node), JSON.stringify({ at: Date.now() }));
      else await etcd.del(K.drain(node));
      out(`${node} ${cmd === 'drain' ? 'draining' : 'undrained'}`);
      return 0;
    }
    case 'bm-seed': {
      const file = rest.find((a) => !a.startsWith('--'));
      if (!file || rest.length !== 1) throw new ConfigError(USAGE);
      let raw: unknown;
      try {
        raw = JSON.parse(fs.readFileSync(file === '-' ? 0 : file, 'utf8'));
      } catch (e) {
        throw new ConfigError(`bm-seed: ${file === '-' ? 'stdin' : file}: ${(e as Error).message}`);
      }
      const defs = validateBmDefs(raw);
      const { removed } = await writeDefs(etcd, defs);
      const n = Object.keys(defs.nodes);
      out(`bm: seeded ${Object.keys(defs.systems).length} system(s), ${Object.keys(defs.classes).length} class(es), ${n.length} node(s)${n.length ? ` (${n.join(', ')})` : ''}${removed.length ? `; removed the status of ${removed.join(', ')}` : ''}`);
      return 0;
    }
    case 'bm-status': {
      const snap = await readBm(etcd);
      const v = bmView(snap);
      if (rest.includes('--json')) {
        out(JSON.stringify(v));
        return 0;
      }
      if (snap.defsError) out(`bm definitions unreadable: ${snap.defsError}`);
      if (v.length === 0) out('bm: no nodes defined');
      for (const n of v) {
        const rep = n.report ? ` report ${n.report.healthy ? 'healthy' : 'unhealthy'} gen ${n.report.generation} (install ${n.report.installId})` : '';
        out(`${n.id} ${n.hostname} class ${n.class} ${n.state} attempts ${n.attempts} install ${n.installId ?? '-'} step ${n.step ?? '-'} gen ${n.generation}${rep}${n.message ? `: ${n.message}` : ''}`);
      }
      return 0;
    }
    case 'purge': {
      // Everything but the nodes' registrations and the leader: for a clean slate.
      for (const p of ['services/', 'drain/', 'status']) await etcd.del(PREFIX + p, true);
      out('purged services, drains and status');
      return 0;
    }
    default:
      throw new ConfigError(USAGE);
  }
}
