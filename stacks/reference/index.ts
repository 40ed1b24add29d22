/**
 * The reference stack: real open-source servers from Debian bookworm play
 * UltraCloud's roles. One folder per role; this list is the whole stack.
 */
import type { Stack } from '../../harness/stack.js';
import { base } from './base/index.js';

export const reference: Stack = {
  name: 'reference',
  suite: 'bookworm',
  roles: [base],
};
