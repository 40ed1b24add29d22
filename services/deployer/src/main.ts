/**
 * One bundle, three programs: `deployer` (control nodes), `agent`
 * (workers), `ctl` (deployerctl, the operator's CLI). Configuration from
 * the environment (config.ts); bad configuration exits 2 with one line.
 */
import { runAgent } from './agent.js';
import { ConfigError, loadConfig } from './config.js';
import { runCtl } from './ctl.js';
import { runDeployer } from './deployer.js';
import { DefinitionError } from './schema.js';

const log = (m: string) => process.stdout.write(`${m}\n`);

async function main(): Promise<number> {
  const [program, ...args] = process.argv.slice(2);
  if (program === 'ctl') return runCtl(args, process.env, log);
  if (program !== 'deployer' && program !== 'agent') throw new ConfigError('usage: deployer.js deployer | agent | ctl ...');
  const cfg = loadConfig(process.env);
  const ac = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ac.abort());
  await (program === 'deployer' ? runDeployer(cfg, ac.signal, log) : runAgent(cfg, ac.signal, log));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const bad = e instanceof ConfigError || e instanceof DefinitionError;
    process.stderr.write(`${bad ? '' : 'deployer: '}${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(bad ? 2 : 1);
  },
);
