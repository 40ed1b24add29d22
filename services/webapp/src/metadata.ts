/**
 * The worker the VM runs on: GET of the metadata URL (plain text, the
 * node's name), per request, 2 s at most. Never throws: a lookup that
 * fails is `{node: null, nodeError}`.
 */
import http from 'node:http';
import { reasonOf } from './errors.js';
import { parseNodeName, type NodeLookup } from './state.js';

export const METADATA_TIMEOUT_MS = 2000;

export function lookupNode(url: string | null, timeoutMs = METADATA_TIMEOUT_MS): Promise<NodeLookup> {
  if (url === null) return Promise.resolve({ node: null, nodeError: 'no metadataUrl configured' });
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: NodeLookup) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ node: null, nodeError: `metadata ${url}: no answer within ${timeoutMs / 1000} s` }), timeoutMs);
    const req = http.get(url, { agent: false, headers: { accept: 'text/plain' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 4096) finish({ node: null, nodeError: `metadata ${url}: answer over 4 KiB` });
        else chunks.push(c);
      });
      res.on('error', (err) => finish({ node: null, nodeError: `metadata ${url}: ${reasonOf(err)}` }));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) finish({ node: null, nodeError: `metadata ${url}: HTTP ${res.statusCode}` });
        else {
          const r = parseNodeName(body);
          finish(r.node === null ? { node: null, nodeError: `metadata ${url}: ${r.nodeError.replace(/^metadata /, '')}` } : r);
        }
      });
    });
    req.on('error', (err) => finish({ node: null, nodeError: `metadata ${url}: ${reasonOf(err)}` }));
  });
}
