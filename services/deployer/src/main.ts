/**
 * One bundle, four programs: `deployer` (control nodes), `agent`
 * (workers), `ctl` (deployerctl, the operator's CLI) and `bm-agent` (an
 * installed bare-metal machine; config file from BM_AGENT_CONFIG, default
 * /etc/ultracloud/bm-agent.json). Configuration from the environment
 * (config.ts); bad configuration exits 2 with one line.
 */
import { runAgent } from './agent.js';
import { CONFIG_FILE, runBmAgent } from './baremetal/agent.js';
import { BmDefinitionError } from './baremetal/schema.js';
import { ConfigError, loadConfig } from './config.js';
import { runCtl } from './ctl.js';
import { runDeployer } from './deployer.js';
import { DefinitionError } from './schema.js';

const log = (m: string) => process.stdout.write(`${m}\n`);

async function main(): Promise<number> {
  const [program, ...args] = process.argv.slice(2);
  if (program === 'ctl') return runCtl(args, process.env, log);
  if (program !== 'deployer' && program !== 'agent' && program !== 'bm-agent') throw new ConfigError('usage: deployer.js deployer | agent | bm-agent | ctl ...');
  const ac = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
  if (program === 'bm-agent') {
    await runBmAgent(process.env.BM_AGENT_CONFIG?.trim() || CONFIG_FILE, ac.signal, log);
    return 0;
  }
  const cfg = loadConfig(process.env);
  await (program === 'deployer' ? runDeployer(cfg, ac.signal, log) : runAgent(cfg, ac.signal, log));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const bad = e instanceof ConfigError || e instanceof DefinitionError || e instanceof BmDefinitionError;
    process.stderr.write(`${bad ? '' : 'deployer: '}${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(bad ? 2 : 1);
  },
);
