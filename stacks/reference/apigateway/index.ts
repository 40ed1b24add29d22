/**
 * apigateway: external API = Apache httpd on node06 port 80 (host-forwarded),
 * validating IAM-issued JWTs with mod_auth_openidc (OAuth 2.0 resource
 * server: signature against IAM's JWKS, expiry, issuer) and routing
 * /nightlight/ to Prometheus and /creditservice/ to creditservice.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export const apigateway: Role = {
  name: 'apigateway',
  description: 'Apache httpd + mod_auth_openidc: IAM tokens checked, routes to nightlight and creditservice',
  hostedOn: (n) => n.kind === 'gateway',
  image: {
    packages: ['apache2', 'libapache2-mod-auth-openidc'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
    disableUnits: ['apache-htcacheclean.service'],
  },
  units: ['ultracloud-role-setup@apigateway.service', 'apache2.service'],
  probes: [
    expectPorts('apigateway', [{ proto: 'tcp', port: 80 }]),
    {
      name: 'answers its health URL, and refuses an API route without a token (401)',
      async run(node) {
        const health = await node.succeed('curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1/healthz');
        const bare = await node.succeed(`curl -s -o /dev/null -w "%{http_code}" 'http://127.0.0.1/nightlight/api/v1/query?query=vector(1)'`);
        if (health !== '200' || bare !== '401') {
          throw new NodeError(node.name, 'apigateway: unexpected answers', { expected: '/healthz 200, /nightlight/ without token 401', lastSeen: `/healthz ${health}, /nightlight/ ${bare}` });
        }
      },
    },
  ],
  secrets: ['secret'],
};
