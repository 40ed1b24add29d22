/**
 * creditservice: the one service of ours in the reference stack
 * (services/creditservice, TypeScript bundled on the host by esbuild and
 * run by Debian's nodejs 18 under systemd on node06). Accounts, balances
 * and reservations live in flaredb; callers are IAM tokens, their account
 * and quota come from the IAM directory. Ready only once it reached both.
 */
import { curlFailure } from '../probes.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import { bundledService } from '../../../services/bundled.js';
import type { CreditserviceOps } from '../../contracts.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Bound to 127.0.0.1 on node06: reached through the gateway, or on the node itself. */
const PORT = 8085;

export const creditserviceOps: CreditserviceOps = {
  url: `http://127.0.0.1:${PORT}`,
  get(node, urlPath, token) {
    return creditserviceOps.request(node, 'GET', urlPath, token);
  },
  async request(node, method, urlPath, token, json) {
    const auth = token ? `-H 'Authorization: Bearer ${token.replace(/'/g, '')}' ` : '';
    const body = json === undefined ? '' : `-H 'Content-Type: application/json' -d '${JSON.stringify(json).replace(/'/g, '')}' `;
    // curl exits non-zero only when nothing answered: that throws (with its output), an HTTP error status does not.
    const r = await node.execute(`curl -s -m 30 -X ${method} -w '\\n%{http_code}' ${auth}${body}'http://127.0.0.1:${PORT}${urlPath.replace(/'/g, '')}'`);
    if (r.code !== 0) {
      throw new NodeError(node.name, `creditservice did not answer ${method} ${urlPath} on 127.0.0.1:${PORT} (${curlFailure(r.code)})`, { lastSeen: `${r.stdout}${r.stderr}`.trim() || '(no output)' });
    }
    const out = r.stdout;
    const nl = out.lastIndexOf('\n');
    return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
  },
};

export const creditservice: Role = {
  name: 'creditservice',
  description: 'our credit/quota service (Node 18): state in flaredb, callers checked against iam',
  hostedOn: (n) => n.kind === 'gateway',
  image: {
    packages: ['nodejs'],
    filesDir: path.join(here, 'files'),
    generated: bundledService('creditservice', 'usr/lib/ultracloud/creditservice/creditservice.js'),
  },
  units: ['ultracloud-role-setup@creditservice.service', 'creditservice.service'],
  probes: [
    {
      name: 'healthy: reached flaredb and iam',
      async run(node) {
        const { status, body } = await creditserviceOps.get(node, '/healthz');
        if (status !== 200) throw new NodeError(node.name, 'creditservice is not healthy', { expected: '200 from /healthz', lastSeen: `${status} ${body}` });
      },
    },
  ],
  secrets: ['secret'],
  ops: creditserviceOps,
};
