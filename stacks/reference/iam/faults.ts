import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults iam claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'iam-slapd-stopped',
    owner: 'iam',
    ...unitsStopped('node01', ['slapd.service']),
    ...protocolChecks('iam', 'node01', ['LDAP simple bind as the admin and a search of the people branch']),
    names: /slapd|389|ldap/i,
  },
  {
    id: 'iam-glewlwyd-stopped',
    owner: 'iam',
    ...unitsStopped('node02', ['glewlwyd.service']),
    ...protocolChecks('iam', 'node02', ['OIDC discovery names the issuer and a JWKS with an EC signing key']),
    names: /glewlwyd|4593|openid|refused/i,
  },
  {
    id: 'iam-replica-stopped',
    owner: 'iam',
    ...unitsStopped('node03', ['slapd.service']),
    suite: 'smoke',
    file: 'tests/smoke/replication.test.ts',
    checks: ['iam > an entry added through node02 appears on node01 and node03'],
    names: /node03/,
  },
];
