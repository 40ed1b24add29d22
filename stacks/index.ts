import { HostError, UsageError } from '../harness/errors.js';
import type { Stack } from '../harness/stack.js';
import type { StackOps } from './contracts.js';
import { reference } from './reference/index.js';

export function loadStack(name: string): Stack<StackOps> {
  if (name === 'reference') return reference;
  if (name === 'ultracloud') {
    throw new HostError(
      "the 'ultracloud' stack is built with nix from UltraCloud's flake (nix/), which this host cannot build; use ULTRACLOUD_STACK=reference",
    );
  }
  throw new UsageError(`unknown stack '${name}'`);
}
