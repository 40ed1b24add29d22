/**
 * `cluster faults [--time-limit S] [--nemesis partition,pause,crash]`: the
 * faults suite (tests/faults) with a longer schedule than `make test`'s
 * quick one. The two options are ours (checked here: a bad value is one
 * line, exit 2) and reach the test through the environment
 * (fixtures/fault-plan.ts); everything else goes to vitest.
 */
import { ENV, FaultPlanError, planOptions } from '../fixtures/fault-plan.js';
import { type Command, OptionError } from './command.js';
import { suiteCommands } from './suites.js';

/** `--time-limit` and `--nemesis` taken out of `argv` (`--x v` or `--x=v`), the rest left in order. */
export function takeFaultOptions(argv: string[]): { env: Record<string, string>; rest: string[] } {
  const env: Record<string, string> = {};
  const rest: string[] = [];
  const names: Record<string, string> = { '--time-limit': ENV.timeLimit, '--nemesis': ENV.nemesis };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (!(flag in names)) {
      rest.push(a);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('-')) throw new OptionError(`${flag} needs a value (--time-limit 600, --nemesis partition,pause,crash)`);
    env[names[flag]] = value;
  }
  try {
    planOptions(env);
  } catch (e) {
    if (e instanceof FaultPlanError) throw new OptionError(e.message);
    throw e;
  }
  return { env, rest };
}

export function faultsCommands(): Record<string, Command> {
  const base = suiteCommands(
    'faults',
    'chainfire and flaredb register histories, the deployers\' leadership and creditservice\'s ledger (a bank) under partitions, pauses and crashes, judged whole (tests/faults; history, verdict and timeline in faults/ of the run folder)',
    'cluster faults -t partitioned',
    ['--project', 'faults'],
  );
  return Object.fromEntries(
    Object.entries(base).map(([name, c]) => [
      name,
      {
        ...c,
        args: `[--time-limit S] [--nemesis partition,pause,crash] ${c.args}`,
        details: `${c.details}
--time-limit S (at least 60) and --nemesis KINDS replace the quick schedule (one partition of the
leader, one pause, one crash in 95 s) for the first test: the kinds chosen, again and again while
they fit in S seconds, each on the next member in turn.`,
        run: (argv: string[]) => {
          const { env, rest } = takeFaultOptions(argv);
          Object.assign(process.env, env);
          return c.run(rest);
        },
      },
    ]),
  );
}
