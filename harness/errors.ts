/**
 * Typed errors that carry their evidence, so a failure report (console or
 * JUnit) explains itself without a re-run.
 */

/** Bad input from the operator: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A host precondition is not met (missing tool, taken port, not root). */
export class HostError extends Error {
  override name = 'HostError';
}

export interface Evidence {
  /** What the wait or check expected. */
  expected?: string;
  /** What was last observed. */
  lastSeen?: string;
  /** Tail of the node's serial console (vm.log). */
  consoleTail?: string;
  /** Journal of the unit involved, if any. */
  journal?: string;
}

/** A failure that concerns one node; the node name leads the message. */
export class NodeError extends Error {
  override name = 'NodeError';
  constructor(
    readonly node: string,
    readonly summary: string,
    readonly evidence: Evidence = {},
  ) {
    super(formatNodeError(node, summary, evidence));
  }
}

/** A wait ran past its deadline. */
export class WaitTimeoutError extends NodeError {
  override name = 'WaitTimeoutError';
}

/** A command on a node exited non-zero where success was required. */
export class CommandError extends NodeError {
  override name = 'CommandError';
  constructor(
    node: string,
    readonly command: string,
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
    evidence: Evidence = {},
  ) {
    super(
      node,
      `command failed (exit ${code ?? 'signal'}): ${command}`,
      { lastSeen: tail(`${stdout}\n${stderr}`.trim(), 20), ...evidence },
    );
  }
}

export function formatNodeError(node: string, summary: string, ev: Evidence): string {
  const parts = [`${node}: ${summary}`];
  if (ev.expected) parts.push(`  expected: ${ev.expected}`);
  if (ev.lastSeen !== undefined) parts.push(`  last seen: ${indentBlock(ev.lastSeen || '(nothing)')}`);
  if (ev.journal) parts.push(`  --- journal ---\n${indent(ev.journal)}`);
  if (ev.consoleTail) parts.push(`  --- ${node} vm.log (tail) ---\n${indent(ev.consoleTail)}`);
  return parts.join('\n');
}

export function tail(text: string, lines: number): string {
  const all = text.split('\n');
  return all.slice(Math.max(0, all.length - lines)).join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function indentBlock(text: string): string {
  return text.includes('\n') ? `\n${indent(text)}` : text;
}
