/**
 * iam: OpenLDAP `slapd` in 3-way multi-provider replication (users, groups,
 * service accounts under dc=ultracloud,dc=test) plus `glewlwyd`, a Debian
 * OAuth2/OpenID Connect server, issuing ES256-signed JWTs for identities in
 * that directory. Both run on node01-03; all per-node config is made at boot
 * by files/usr/lib/ultracloud/roles/iam/setup.sh from the node identity, the
 * cluster secret and the cluster's signing key (see README.md beside this).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role } from '../../../harness/stack.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export const iam: Role = {
  name: 'iam',
  description: 'OpenLDAP slapd multi-provider directory + glewlwyd OIDC token issuer (ES256 JWT, JWKS)',
  hostedOn: (node) => node.kind === 'control',
  image: {
    packages: ['slapd', 'ldap-utils', 'glewlwyd', 'sqlite3', 'openssl', 'curl'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
  },
  // slapd.service is our native unit (files/etc/systemd/system): Debian's
  // slapd ships only a SysV script, whose generated unit the node generator
  // cannot see. glewlwyd.service is the package's, with a drop-in.
  units: ['ultracloud-role-setup@iam.service', 'slapd.service', 'glewlwyd.service'],
};
