/**
 * `cluster repl`: an interactive session on the running cluster with the
 * harness's verbs preloaded, as the NixOS test driver's interactive mode
 * offers: `await node01.succeed("hostname")`,
 * `await ops.flaredb.sentinelPrimary(node01)`, `await cluster.status()`.
 * Node's own REPL (top-level await, completion); history in the state dir;
 * `.help` lists the verbs.
 */
import fs from 'node:fs';
import path from 'node:path';
import repl from 'node:repl';
import type { Readable, Writable } from 'node:stream';
import type { Cluster } from '../harness/cluster.js';
import { HostError } from '../harness/errors.js';
import type { Node } from '../harness/remote/node.js';
import { type Command, openCluster, opts } from './command.js';

/** A node's name as a REPL variable: storage-node01 -> storage_node01. */
export function variableName(node: string): string {
  return node.replace(/[^A-Za-z0-9_$]/g, '_');
}

/** The functions an object offers (own and inherited, not Object's), sorted. */
function functionsOf(o: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = o; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === 'constructor' || k.startsWith('_')) continue;
      const d = Object.getOwnPropertyDescriptor(p, k);
      if (d && typeof d.value === 'function') names.add(k);
    }
  }
  return [...names].sort();
}

/** What `.help` prints: the variables, each node's verbs and each role's ops, from the objects themselves. */
export function verbsHelp(nodes: Record<string, Node>, ops: Record<string, unknown>): string {
  const names = Object.keys(nodes);
  const first = names[0] ?? 'node01';
  const lines = [
    `nodes: ${names.join(', ')}  (each a Node; every verb returns a promise: await it)`,
    `  ${functionsOf(nodes[first] ?? {}).join(', ')}`,
    `  e.g. await ${first}.succeed('hostname'), await ${first}.unitState('ssh.service'), ${first}.consoleTail(20)`,
    'cluster: the Cluster (status(), runningNodes(), node(name), vm(name), specs, stateDir)',
    'ops: what tests ask of each role (stacks/contracts.ts), each verb taking a node:',
  ];
  for (const [role, o] of Object.entries(ops).sort(([a], [b]) => a.localeCompare(b))) {
    if (o && typeof o === 'object') lines.push(`  ops.${role}: ${functionsOf(o).join(', ')}`);
  }
  lines.push(`  e.g. await ops.flaredb.sentinelPrimary(${first})`, '.exit or Ctrl-D leaves (the cluster keeps running)');
  return lines.join('\n');
}

export interface ReplIo {
  input: Readable;
  output: Writable;
  /** Where the history is kept (undefined: none). */
  historyFile?: string;
  terminal?: boolean;
}

/** Starts the REPL with `cluster`, `ops` and one variable per node; resolves when it exits. */
export async function runRepl(context: { cluster: unknown; ops: Record<string, unknown>; nodes: Record<string, Node> }, io: ReplIo): Promise<void> {
  const server = repl.start({ prompt: 'cluster> ', input: io.input, output: io.output, terminal: io.terminal ?? false, useGlobal: false, ignoreUndefined: true });
  Object.assign(server.context, { cluster: context.cluster, ops: context.ops }, Object.fromEntries(Object.entries(context.nodes).map(([n, node]) => [variableName(n), node])));
  // One line at a time, in order: piped input (a script, a transcript) is read ahead, and each
  // line would otherwise start before the one above it finished, or the session end under it.
  let chain: Promise<void> = Promise.resolve();
  const evaluate = server.eval.bind(server);
  (server as unknown as { eval: repl.REPLEval }).eval = (code, ctx, file, cb) => {
    chain = chain.then(() => new Promise<void>((done) => evaluate(code, ctx, file, (err, result) => (cb(err, result), done()))));
  };
  const help = verbsHelp(context.nodes, context.ops);
  server.defineCommand('help', {
    help: 'the verbs: nodes, cluster, ops',
    action() {
      chain = chain.then(() => {
        this.output.write(`${help}\n`);
        this.displayPrompt();
      });
    },
  });
  if (io.historyFile) {
    fs.mkdirSync(path.dirname(io.historyFile), { recursive: true });
    await new Promise<void>((resolve, reject) => server.setupHistory(io.historyFile!, (e) => (e ? reject(e) : resolve())));
  }
  await new Promise<void>((resolve) => server.on('exit', () => resolve()));
  // What was typed before the end still runs to its end before the session (and the cluster's SSH) closes.
  await chain;
}

export const replCommand: Command = {
  args: '',
  summary: 'an interactive session on the running cluster with the harness verbs preloaded (node01.succeed(...), ops...)',
  details: `Node's REPL on the running cluster (never boots one), with:

  node01 ... node06   each node (await node01.succeed('hostname'), node01.unitState('etcd.service'),
                      node01.journal('etcd.service', 20), node01.consoleTail(20), ...)
  cluster             the cluster (await cluster.status(), cluster.runningNodes())
  ops                 what the tests ask of each role (await ops.flaredb.sentinelPrimary(node01))

Top-level await works. \`.help\` lists every verb; history is kept in <state dir>/repl_history;
.exit or Ctrl-D leaves, the cluster keeps running.`,
  async run(args) {
    opts(args, {});
    const cluster: Cluster = await openCluster();
    if (cluster.runningNodes().length === 0) throw new HostError('no cluster is running; `cluster repl` never boots one (`cluster start` does)');
    const nodes = Object.fromEntries(cluster.runningNodes().map((s) => [s.name, cluster.node(s.name)]));
    process.stderr.write(`cluster: ${Object.keys(nodes).join(', ')}, cluster and ops are loaded; .help lists the verbs\n`);
    try {
      await runRepl({ cluster, ops: cluster.stack.ops as Record<string, unknown>, nodes }, { input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true, historyFile: path.join(cluster.stateDir, 'repl_history') });
    } finally {
      await cluster.close();
    }
    return 0;
  },
};
