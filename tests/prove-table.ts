/**
 * The whole `cluster prove` table: each role's faults
 * (stacks/<stack>/<role>/faults.ts) and each scenario's
 * (tests/<suite>/<name>.faults.ts), in the order the suites run.
 */
import type { ProveRow } from '../harness/prove.js';
import type { StackOps } from '../stacks/contracts.js';
import { faults as apigateway } from '../stacks/reference/apigateway/faults.js';
import { faults as base } from '../stacks/reference/base/faults.js';
import { faults as chainfire } from '../stacks/reference/chainfire/faults.js';
import { faults as coronafs } from '../stacks/reference/coronafs/faults.js';
import { faults as creditservice } from '../stacks/reference/creditservice/faults.js';
import { faults as deployer } from '../stacks/reference/deployer/faults.js';
import { faults as fiberlb } from '../stacks/reference/fiberlb/faults.js';
import { faults as flaredb } from '../stacks/reference/flaredb/faults.js';
import { faults as flashdns } from '../stacks/reference/flashdns/faults.js';
import { faults as iam } from '../stacks/reference/iam/faults.js';
import { faults as k8shost } from '../stacks/reference/k8shost/faults.js';
import { faults as lightningstor } from '../stacks/reference/lightningstor/faults.js';
import { faults as nightlight } from '../stacks/reference/nightlight/faults.js';
import { faults as plasmavmc } from '../stacks/reference/plasmavmc/faults.js';
import { faults as prismnet } from '../stacks/reference/prismnet/faults.js';

import { faults as gatewayFlows } from './matrix/gateway-flows.faults.js';
import { faults as dnsLbNet } from './matrix/dns-lb-net.faults.js';
import { faults as k8sBundle } from './matrix/k8s-bundle.faults.js';
import { faults as vmHosting } from './matrix/vm-hosting.faults.js';
import { faults as vmWebapp } from './demo/vm-webapp.faults.js';
import { faults as baremetal } from './baremetal/iso.faults.js';
import { faults as rollout } from './scheduling/rollout.faults.js';
import { faults as bench } from './bench/storage.faults.js';

const REFERENCE: ProveRow<StackOps>[] = [
  ...base,
  ...chainfire,
  ...flaredb,
  ...iam,
  ...creditservice,
  ...prismnet,
  ...flashdns,
  ...fiberlb,
  ...plasmavmc,
  ...coronafs,
  ...lightningstor,
  ...k8shost,
  ...apigateway,
  ...nightlight,
  ...deployer,
  ...gatewayFlows,
  ...dnsLbNet,
  ...k8sBundle,
  ...vmHosting,
  ...vmWebapp,
  ...baremetal,
  ...rollout,
  ...bench,
];

/** The table for a stack: its faults name its own units and files, so another stack has none yet. */
export function proveTable(stack: string): ProveRow<StackOps>[] {
  if (stack !== 'reference') {
    throw new Error(`cluster prove: the fault table is written for the reference stack's units and files; stack '${stack}' has none yet`);
  }
  return REFERENCE;
}
