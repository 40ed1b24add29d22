/**
 * The reference stack: real open-source servers from Debian bookworm play
 * UltraCloud's roles. One folder per role; this list is the whole stack.
 */
import type { Stack } from '../../harness/stack.js';
import type { StackOps } from '../contracts.js';
import { base } from './base/index.js';
import { chainfire, chainfireOps } from './chainfire/index.js';
import { fiberlb, fiberlbOps } from './fiberlb/index.js';
import { flaredb, flaredbOps } from './flaredb/index.js';
import { flashdns, flashdnsOps } from './flashdns/index.js';
import { iam, iamOps } from './iam/index.js';
import { apigateway } from './apigateway/index.js';
import { coronafs, coronafsOps } from './coronafs/index.js';
import { creditservice } from './creditservice/index.js';
import { k8shost, k8shostOps } from './k8shost/index.js';
import { lightningstor, lightningstorOps } from './lightningstor/index.js';
import { nightlight } from './nightlight/index.js';
import { plasmavmc, plasmavmcOps } from './plasmavmc/index.js';
import { prismnet, prismnetOps } from './prismnet/index.js';

export const reference: Stack<StackOps> = {
  name: 'reference',
  suite: 'bookworm',
  roles: [base, chainfire, flaredb, iam, flashdns, fiberlb, prismnet, plasmavmc, lightningstor, coronafs, k8shost, nightlight, apigateway, creditservice],
  ops: { iam: iamOps, chainfire: chainfireOps, flaredb: flaredbOps, flashdns: flashdnsOps, fiberlb: fiberlbOps, prismnet: prismnetOps, plasmavmc: plasmavmcOps, coronafs: coronafsOps, k8shost: k8shostOps, lightningstor: lightningstorOps },
};
