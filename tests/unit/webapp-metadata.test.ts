/**
 * The node lookup (metadata URL): a name, or null and why, within its
 * deadline; it never throws. Against small node:http stand-ins on 127.0.0.1
 * (the real one is the lead's metadata service in the tenant network).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupNode } from '../../services/webapp/src/metadata.js';

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/node') res.end('node04\n');
    else if (req.url === '/broken') res.writeHead(500).end('oops');
    else if (req.url === '/html') res.end('<html>hi</html>');
    // '/hang': never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('lookupNode', () => {
  it('the name the metadata URL answers', async () => {
    expect(await lookupNode(`${base}/node`)).toEqual({ node: 'node04' });
  });
  it('no URL configured', async () => {
    expect(await lookupNode(null)).toEqual({ node: null, nodeError: 'no metadataUrl configured' });
  });
  it('an HTTP error, or an answer that is not a name', async () => {
    expect(await lookupNode(`${base}/broken`)).toEqual({ node: null, nodeError: `metadata ${base}/broken: HTTP 500` });
    expect(await lookupNode(`${base}/html`)).toEqual({ node: null, nodeError: `metadata ${base}/html: answered "<html>hi</html>", not a node name` });
  });
  it('nothing listening', async () => {
    const r = await lookupNode('http://127.0.0.1:1/node');
    expect(r).toEqual({ node: null, nodeError: 'metadata http://127.0.0.1:1/node: connect ECONNREFUSED 127.0.0.1:1' });
  });
  it('no answer: null, naming the deadline (the server never answers: only the deadline can end it)', async () => {
    const r = await lookupNode(`${base}/hang`, 300);
    expect(r).toEqual({ node: null, nodeError: `metadata ${base}/hang: no answer within 0.3 s` });
  });
});
