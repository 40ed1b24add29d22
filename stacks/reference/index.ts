/**
 * The reference stack: real open-source servers from Debian bookworm play
 * UltraCloud's roles. One folder per role (its image, units, probes, secrets
 * and ops); this list is the whole stack.
 */
import crypto from 'node:crypto';
import { debianImageBackend } from '../../harness/image/backend.js';
import { defineStack } from '../../harness/stack.js';
import { common } from '../common.js';
import type { StackOps, StackTiming } from '../contracts.js';
import { apigateway } from './apigateway/index.js';
import { base } from './base/index.js';
import { TIMING as chainfireTiming, chainfire } from './chainfire/index.js';
import { coronafs } from './coronafs/index.js';
import { creditservice } from './creditservice/index.js';
import { TIMING as deployerTiming, deployer } from './deployer/index.js';
import { TIMING as fiberlbTiming, fiberlb } from './fiberlb/index.js';
import { TIMING as flaredbTiming, flaredb } from './flaredb/index.js';
import { TIMING as flashdnsTiming, flashdns } from './flashdns/index.js';
import { TIMING as iamTiming, iam } from './iam/index.js';
import { k8shost } from './k8shost/index.js';
import { lightningstor } from './lightningstor/index.js';
import { nightlight } from './nightlight/index.js';
import { TIMING as plasmavmcTiming, plasmavmc } from './plasmavmc/index.js';
import { TIMING as prismnetTiming, prismnet } from './prismnet/index.js';

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
  // One Debian image for all nodes, from the roles' `image` (mmdebstrap from the host's apt sources).
  imageBackend: debianImageBackend(),
  ...common,
});

/**
 * Each role's deadlines (its ops' `timing`), as static data: the figures and
 * how they were measured are beside each role's TIMING (and in its README).
 */
export const timing: StackTiming = {
  chainfire: chainfireTiming,
  flaredb: flaredbTiming,
  iam: iamTiming,
  flashdns: flashdnsTiming,
  fiberlb: fiberlbTiming,
  prismnet: prismnetTiming,
  plasmavmc: plasmavmcTiming,
  deployer: deployerTiming,
};
