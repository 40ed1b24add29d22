/**
 * What both stacks hand the harness alike: the gateway node's forwards
 * (tests reach apigateway and nightlight on the host by these names), the
 * tenant web app's guest image and the bare-metal artifacts (both still
 * built from Debian, whatever builds the node images).
 */
import { baremetalArtifacts } from '../baremetal/index.js';
import { webappGuest } from '../guests/webapp/index.js';
import type { StackDef } from '../harness/stack.js';
import type { StackOps } from './contracts.js';

export const common = {
  forwards: {
    // node06's API gateway (HTTP, 80) and metrics query (Prometheus API, 9090) at base + 80 and base + 90.
    gateway: [
      { name: 'apigateway', guestPort: 80, offset: 80 },
      { name: 'nightlight', guestPort: 9090, offset: 90 },
    ],
  },
  guests: [webappGuest],
  baremetal: baremetalArtifacts,
} satisfies Partial<StackDef<StackOps>>;
