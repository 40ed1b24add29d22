/**
 * The test suites: `<suite>` and `fresh-<suite>` for each cluster suite
 * (each a withCluster session), and `validate` and `rerun-failed`, which
 * run against the running cluster and never boot one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../harness/config.js';
import { HostError, UsageError } from '../harness/errors.js';
import { progress } from '../harness/log.js';
import { SCENARIO_PROJECTS, isScenario, projectOf } from '../fixtures/projects.js';
import { type FailedCase, JUNIT_FILE, JUNIT_REPORT, ReportError, parseFailures, rerunArgs } from '../harness/rerun.js';
import { resolveRun } from '../harness/run-dir.js';
import { type Command, openCluster, requireServes, takeCold } from './command.js';
import { runVitest, withCluster } from './session.js';

/**
 * `<suite>` and `fresh-<suite>`: the cluster suites' two commands, alike but
 * for the suite. `selector` is what picks the suite's files for vitest (the
 * suite's folder name by default; `--project <name>` where the command is
 * named otherwise).
 */
export function suiteCommands(suite: string, what: string, example: string, selector: string[] = [suite]): Record<string, Command> {
  const shown = selector.join(' ');
  const project = selector[0] === '--project' ? selector[1] : suite;
  const runSuite = async (command: string, fresh: boolean, argv: string[]): Promise<number> => {
    requireServes(project, command);
    const { cold, rest: args } = takeCold(argv);
    return withCluster({ purpose: `cluster ${command}`, fresh, cold }, async (cluster) => {
      const code = await runVitest(cluster, [...selector, ...args]);
      progress('cluster', 'cluster left running: `cluster status`, `cluster stop`');
      return code;
    });
  };
  return {
    [suite]: {
      args: '[--cold] [vitest options...]',
      summary: `run ${what}`,
      details: `Brings the cluster up if no node is running (as \`start\` does: from the warm snapshot when one
fits; --cold first: from the image), then runs \`vitest run ${shown}\` with the options given (e.g.
\`${example}\`), holding the cluster lock throughout. Leaves the cluster running.`,
      passThrough: true,
      run: (argv) => runSuite(suite, false, argv),
    },
    [`fresh-${suite}`]: {
      args: '[--cold] [vitest options...]',
      summary: `clean + build + start + ${suite}, holding the cluster lock throughout`,
      details: `Throws the runtime state away (removes the state dir), builds (or reuses) the image, brings six
nodes up on fresh disks (from the warm snapshot when one fits, see \`start\`; --cold first: from
the image) and runs \`vitest run ${shown}\` with the options given, holding the cluster lock from the
clean to the end. Leaves the cluster running.`,
      passThrough: true,
      run: (argv) => runSuite(`fresh-${suite}`, true, argv),
    },
  };
}

/** The suites that run against the running cluster only. */
export const attachedSuiteCommands = {
  validate: {
    args: '[vitest options...]',
    summary: 'run the smoke checks against the running cluster, never booting one',
    details: `Runs \`vitest run smoke\` with the options given (e.g. \`cluster validate -t node03\`) against the
running cluster, with ULTRACLOUD_ATTACH_ONLY=1: fails if no cluster is up, never boots one.`,
    passThrough: true,
    async run(args) {
      requireServes('smoke', 'validate');
      const cluster = await openCluster();
      if (cluster.runningNodes().length === 0) throw new HostError('no cluster is running; `validate` never boots one (use `smoke` or `start`)');
      return runVitest(cluster, ['smoke', ...args], { ULTRACLOUD_ATTACH_ONLY: '1' });
    },
  },

  'rerun-failed': {
    args: '[--run RUN] [vitest options...]',
    summary: `run again the tests that failed in the last run (${JUNIT_REPORT}; a scenario whole), never booting a cluster`,
    details: `Reads ${JUNIT_REPORT} (the JUnit report of the last \`vitest run\`, \`smoke\`, \`validate\`...),
or with --run RUN that of an earlier run (a folder, or a name under reports/runs/),
lists what failed, and runs \`vitest run\` on those files with a --testNamePattern that admits
exactly the failed tests, with ULTRACLOUD_ATTACH_ONLY=1: cluster tests run against the running
cluster, never booting one. A file of a scenario project (${SCENARIO_PROJECTS.join(', ')}) is one
sequential scenario: any failed step re-runs the whole file, all steps in order (a step run alone
fails with "needs step X"). A describe block whose beforeAll/afterAll failed re-runs its tests; a
file that failed outside its tests (its health check) re-runs all its tests; a file that did not
load makes the failed files run whole. Nothing failed: one line, exit 0. No report: exit 1.
Options go to vitest (e.g. \`cluster rerun-failed --bail 1\`; a -t narrows the selection, a
scenario's too: a step it picks without the steps before it fails). The
run writes a run folder of its own (reports/runs/<time>-rerun, then reports/latest), so the
full run's record stays; run it again to re-run what still fails.`,
    passThrough: true,
    async run(argv) {
      const { run: asked, rest: args } = takeRunOption(argv);
      let report: string;
      try {
        report = path.join(resolveRun(asked), JUNIT_FILE);
      } catch (e) {
        throw new HostError(`${(e as Error).message} (\`cluster smoke\`, \`cluster validate\`, \`npx vitest run\`)`);
      }
      const shown = path.relative(PROJECT_ROOT, report);
      let xml: string;
      try {
        xml = fs.readFileSync(report, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        throw new HostError(`no test report (${shown}): that run wrote none (stopped before its end?); run the tests first`);
      }
      let failures: FailedCase[];
      try {
        failures = parseFailures(xml);
      } catch (e) {
        if (e instanceof ReportError) throw new HostError(`cannot read ${shown}: ${e.message}`);
        throw e;
      }
      if (failures.length === 0) {
        progress('rerun', `nothing failed in that run (${shown}): nothing to re-run`);
        return 0;
      }
      const cluster = await openCluster();
      if (failures.some((f) => projectOf(f.file) !== 'unit') && cluster.runningNodes().length === 0) {
        throw new HostError('no cluster is running; `rerun-failed` never boots one (use `start`)');
      }
      const plan = rerunArgs(failures, args, isScenario);
      const tests = (n: number) => `${n} test${n === 1 ? '' : 's'}`;
      for (const f of failures) {
        const what =
          f.kind === 'test' ? `${f.file} > ${f.name}`
          : f.kind === 'suite' ? `${f.file} > ${f.name} (a hook of this block failed: its ${tests(f.rerun.length - 1)})`
          : f.rerun.length === 0 ? `${f.file} (failed before any test ran: the whole file)`
          : `${f.file} (failed outside its tests: all its ${tests(f.rerun.length)})`;
        progress('rerun', what);
      }
      for (const file of plan.scenarios) {
        const failed = failures.filter((f) => f.file === file).length;
        progress(
          'rerun',
          `${file}: a ${projectOf(file)} scenario, whose steps build on each other: ${failed === 1 ? 'the failure above' : `the ${failed} failures above`} re-run${failed === 1 ? 's' : ''} as the whole scenario, every step in order`,
        );
      }
      if (plan.wholeFiles.length > 0) progress('rerun', `${plan.wholeFiles.join(', ')} ran no test: running the failed files whole`);
      return runVitest(cluster, plan.args, { ULTRACLOUD_ATTACH_ONLY: '1', ULTRACLOUD_RUN_LABEL: 'rerun' });
    },
  },
} satisfies Record<string, Command>;

/** `--run RUN` / `--run=RUN` taken out of rerun-failed's arguments; the rest go to vitest. */
export function takeRunOption(args: string[]): { run?: string; rest: string[] } {
  const rest: string[] = [];
  let run: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--run') {
      if (i + 1 >= args.length || args[i + 1].startsWith('-')) throw new UsageError('--run needs a run: a folder, or a name under reports/runs/ (e.g. --run 20261206T203400Z-test)');
      run = args[++i];
    } else if (a.startsWith('--run=')) run = a.slice('--run='.length);
    else rest.push(a);
  }
  return { run, rest };
}
