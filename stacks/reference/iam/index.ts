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
import { NodeError } from '../../../harness/errors.js';
import type { Probe, Role } from '../../../harness/stack.js';
import type { IamOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));


const LDAP_BASE = 'dc=ultracloud,dc=test';
const ISSUER_PORT = 4593;

/** Multi-provider replication is near-instant on hardware; a TCG guest can lag seconds. */
export const TIMING = {
  replicateS: 60,
  /** syncrepl retries every 5 s; keepalive notices a dead peer in about 35 s. */
  rejoinS: 120,
};

export const iamOps: IamOps = {
  timing: TIMING,
  async addPerson(node, uid) {
    const ldif = [
      `dn: uid=${uid},ou=people,${LDAP_BASE}`,
      'objectClass: inetOrgPerson',
      `uid: ${uid}`,
      `cn: ${uid}`,
      'sn: smoke',
    ].join('\\n');
    await node.succeed(`printf '${ldif}\\n' | ldapadd -Q -Y EXTERNAL -H ldapi:///`);
  },
  async hasPerson(node, uid) {
    const out = await node.succeed(`ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b ou=people,${LDAP_BASE} '(uid=${uid})' dn`);
    return out.includes(`dn: uid=${uid},`);
  },
  async issueToken(node) {
    const out = await node.succeed(
      `S=$(cat /run/ultracloud/secret); curl -sf -u "ultracloud:$S" -d grant_type=password -d username=alice -d "password=alice-$S" -d 'scope=openid ultracloud' http://127.0.0.1:${ISSUER_PORT}/api/oidc/token`,
    );
    return { token: (JSON.parse(out) as { access_token: string }).access_token, user: 'alice' };
  },
  async tokenFor(node, user) {
    const out = await node.succeed(
      `S=$(cat /run/ultracloud/secret); curl -sf -u "ultracloud:$S" -d grant_type=password -d username=${user} -d "password=${user}-$S" -d 'scope=openid ultracloud' http://127.0.0.1:${ISSUER_PORT}/api/oidc/token`,
    );
    return (JSON.parse(out) as { access_token: string }).access_token;
  },
  async setQuota(node, uid, quota) {
    const ldif = [`dn: uid=${uid},ou=people,${LDAP_BASE}`, 'changetype: modify', 'replace: ultracloudQuota', `ultracloudQuota: ${quota}`].join('\\n');
    await node.succeed(`printf '${ldif}\\n' | ldapmodify -Q -Y EXTERNAL -H ldapi:///`);
  },
  async discovery(node) {
    return JSON.parse(await node.succeed(`curl -sf http://127.0.0.1:${ISSUER_PORT}/api/oidc/.well-known/openid-configuration`));
  },
  async jwks(node) {
    return JSON.parse(await node.succeed(`curl -sf http://127.0.0.1:${ISSUER_PORT}/api/oidc/jwks`));
  },
};

const probes: Probe[] = [
  expectPorts('iam', [{ proto: 'tcp', port: 389 }, { proto: 'tcp', port: ISSUER_PORT }]),
  {
    name: 'LDAP simple bind as the admin and a search of the people branch',
    async run(node) {
      const ip = node.spec.clusterIp;
      const out = await node.succeed(
        `ldapsearch -x -LLL -H ldap://${ip} -D cn=admin,${LDAP_BASE} -w "$(cat /run/ultracloud/secret)" -b ou=people,${LDAP_BASE} '(uid=alice)' uid`,
      );
      if (!out.includes('uid: alice')) throw new NodeError(node.name, 'iam directory search found no alice', { lastSeen: out });
    },
  },
  {
    name: 'OIDC discovery names the issuer and a JWKS with an EC signing key',
    async run(node) {
      const ip = node.spec.clusterIp;
      const disc = JSON.parse(await node.succeed(`curl -sf http://${ip}:${ISSUER_PORT}/api/oidc/.well-known/openid-configuration`)) as {
        issuer?: string;
        jwks_uri?: string;
      };
      const jwks = JSON.parse(await node.succeed(`curl -sf ${disc.jwks_uri}`)) as { keys?: { kty?: string }[] };
      if (!disc.issuer || !jwks.keys?.some((k) => k.kty === 'EC')) {
        throw new NodeError(node.name, 'iam OIDC discovery or JWKS incomplete', {
          expected: 'issuer, jwks_uri, an EC key',
          lastSeen: JSON.stringify({ disc, jwks }).slice(0, 600),
        });
      }
    },
  },
];

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
  probes,
  secrets: ['secret', 'signing-key.der'],
  ops: iamOps,
};
