/**
 * The reference stack: real open-source servers from Debian bookworm play
 * UltraCloud's roles. One folder per role (its image, units, probes, secrets
 * and ops); this list is the whole stack.
 */
import crypto from 'node:crypto';
import { defineStack } from '../../harness/stack.js';
import type { StackOps } from '../contracts.js';
import { apigateway } from './apigateway/index.js';
import { base } from './base/index.js';
import { chainfire } from './chainfire/index.js';
import { coronafs } from './coronafs/index.js';
import { creditservice } from './creditservice/index.js';
import { deployer } from './deployer/index.js';
import { fiberlb } from './fiberlb/index.js';
import { flaredb } from './flaredb/index.js';
import { flashdns } from './flashdns/index.js';
import { iam } from './iam/index.js';
import { k8shost } from './k8shost/index.js';
import { lightningstor } from './lightningstor/index.js';
import { nightlight } from './nightlight/index.js';
import { plasmavmc } from './plasmavmc/index.js';
import { prismnet } from './prismnet/index.js';

export const reference = defineStack<StackOps>({
  name: 'reference',
  suite: 'bookworm',
  roles: [base, chainfire, flaredb, iam, flashdns, fiberlb, prismnet, plasmavmc, lightningstor, coronafs, k8shost, nightlight, apigateway, creditservice, deployer],
  secrets: [
    // Service passwords and API keys (Redis, PowerDNS, LDAP admin, OAuth client, Swift hash and S3 key): 32 hex chars.
    { name: 'secret', make: () => Buffer.from(crypto.randomBytes(16).toString('hex')) },
    // The token signing key every iam node shares (EC P-256, PKCS#8 DER), so any node's JWKS validates any node's token.
    {
      name: 'signing-key.der',
      make: () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' }),
    },
  ],
  opsKeys: ['iam', 'chainfire', 'flaredb', 'flashdns', 'fiberlb', 'prismnet', 'plasmavmc', 'coronafs', 'k8shost', 'lightningstor', 'creditservice', 'deployer'],
});
