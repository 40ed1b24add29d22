/**
 * The pure parts of the role ops behind the dns-lb-net and k8s-bundle
 * scenarios: PrismNet's gateway plan and route parsing, fiberlb's service
 * fragment and runtime-API readings, k8shost's Kubernetes YAML and Service
 * target.
 */
import { describe, expect, it } from 'vitest';
import { parseHttpLines, parseShowStat, publishedServices, serviceFragment } from '../../stacks/reference/fiberlb/index.js';
import { kubeYaml, serviceTarget } from '../../stacks/reference/k8shost/index.js';
import { cidrNetwork, gatewayPlan, parseGatewayRoutes, routerPortNames } from '../../stacks/reference/prismnet/index.js';

describe('prismnet gateway', () => {
  it('takes the network of any address in a CIDR and refuses what is not one', () => {
    expect(cidrNetwork('10.251.0.1/24')).toMatchObject({ network: '10.251.0.0/24', prefix: 24 });
    expect(cidrNetwork('10.100.0.21/30').network).toBe('10.100.0.20/30');
    expect(cidrNetwork('0.0.0.0/0').network).toBe('0.0.0.0/0');
    for (const bad of ['10.251.0.1', '10.251.0.256/24', '10.251.0.1/33', 'a.b.c.d/8']) expect(() => cidrNetwork(bad), bad).toThrow(/not an IPv4 CIDR/);
  });

  it('plans a gateway from the router name and transit network: router first address, worker second, a short interface name', () => {
    const p = gatewayPlan({ router: 'matrix-lb', transit: '10.251.254.0/24' });
    expect(p).toMatchObject({
      transitSwitch: 'matrix-lb-transit',
      routerIp: '10.251.254.1',
      workerIp: '10.251.254.2',
      workerAddress: '10.251.254.2/24',
      lsp: 'matrix-lb-gw',
      routerPort: { lrp: 'lrp-matrix-lb-matrix-lb-transit', lsp: 'lsp-matrix-lb-matrix-lb-transit', address: '10.251.254.1/24' },
    });
    expect(p.iface).toMatch(/^ucgw-[0-9a-f]{8}$/);
    expect(p.iface.length).toBeLessThanOrEqual(15);
    // Locally administered unicast, and stable: a re-run finds what a failed run left.
    expect(p.workerMac).toMatch(/^0a:58(:[0-9a-f]{2}){4}$/);
    expect(gatewayPlan({ router: 'matrix-lb', transit: '10.251.254.0/24' })).toEqual(p);
    expect(gatewayPlan({ router: 'other', transit: '10.251.254.0/24' }).iface).not.toBe(p.iface);
    expect(routerPortNames('r', 'sw').mac).not.toBe(routerPortNames('r', 'sw2').mac);
    expect(() => gatewayPlan({ router: 'r', transit: '10.0.0.0/31' })).toThrow(/no room/);
  });

  it('reads the gateway routes of `ip -o -4 route show proto 250`', () => {
    const text = '10.251.0.0/24 via 10.100.0.21 dev cluster0 mtu 1400 \n10.9.9.9 via 10.100.0.22 dev cluster0 mtu 1400 \n';
    expect(parseGatewayRoutes(text)).toEqual([
      { cidr: '10.251.0.0/24', via: '10.100.0.21' },
      { cidr: '10.9.9.9/32', via: '10.100.0.22' },
    ]);
    expect(parseGatewayRoutes('')).toEqual([]);
  });
});

describe('fiberlb service', () => {
  const svc = { name: 'matrix-lb', vip: '10.100.0.241', port: 80, backends: [{ name: 'mx-lb-a', address: '10.251.0.10', port: 80 }, { name: 'mx-lb-b', address: '10.251.0.11', port: 80 }] };

  it('renders an HTTP frontend on the VIP and a health-checked round-robin backend', () => {
    const f = serviceFragment(svc);
    expect(f).toContain('frontend svc-matrix-lb\n\tmode http\n\tbind 10.100.0.241:80\n');
    expect(f).toContain('backend svc-matrix-lb\n');
    expect(f).toContain('\tbalance roundrobin\n');
    expect(f).toContain('\toption httpchk GET /\n');
    expect(f).toContain('\tserver mx-lb-a 10.251.0.10:80 check\n\tserver mx-lb-b 10.251.0.11:80 check\n');
    // unpublish finds the VIP again in the bind line.
    expect(/^\tbind ([0-9.]*):/m.exec(f)?.[1]).toBe('10.100.0.241');
    expect(serviceFragment({ ...svc, backends: [] })).not.toMatch(/^\tserver /m);
  });

  it('refuses names and addresses that would break the config', () => {
    expect(() => serviceFragment({ ...svc, name: 'a b' })).toThrow(/bad service name/);
    expect(() => serviceFragment({ ...svc, name: 'x\nfrontend y' })).toThrow(/bad service name/);
    expect(() => serviceFragment({ ...svc, vip: 'node01' })).toThrow(/bad VIP/);
    expect(() => serviceFragment({ ...svc, backends: [{ name: 'a', address: '10.0.0.1;', port: 80 }] })).toThrow(/bad backend/);
  });

  it('lists the published services among show stat proxies, not haproxy.cfg’s own', () => {
    const csv = [
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,status',
      'stats,FRONTEND,,,0,1,262,3,OPEN',
      'chainfire,FRONTEND,,,0,1,262,6,OPEN',
      'chainfire,node01,0,0,0,1,,2,UP',
      'svc-matrix-lb,FRONTEND,,,0,1,262,6,OPEN',
      'svc-matrix-lb,mx-lb-a,0,0,0,1,,3,UP',
      'svc-matrix-lb,BACKEND,0,0,0,1,,6,UP',
      '',
    ].join('\n');
    expect(publishedServices(parseShowStat(csv))).toEqual(['matrix-lb']);
  });

  it('reads one "<status> <body>" line per request, 000 as no answer', () => {
    expect(parseHttpLines('200 mx-lb-a\n200 mx-lb-b\n000 \n503 <html><body><h1>503 Service Unavailable</h1>\n')).toEqual([
      { status: 200, body: 'mx-lb-a' },
      { status: 200, body: 'mx-lb-b' },
      { status: 0, body: '' },
      { status: 503, body: '<html><body><h1>503 Service Unavailable</h1>' },
    ]);
  });
});

describe('k8shost Kubernetes YAML', () => {
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 18080 }] } };

  it('writes objects as block-style YAML documents', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { hostNetwork: true, containers: [{ name: 'main', command: ['/bin/sh', '-c', 'echo "a $B" > /tmp/x'], env: [] }] },
    };
    expect(kubeYaml([pod, service])).toBe(
      [
        'apiVersion: "v1"',
        'kind: "Pod"',
        'metadata:',
        '  name: "web"',
        '  labels:',
        '    app: "web"',
        'spec:',
        '  hostNetwork: true',
        '  containers:',
        '    - name: "main"',
        '      command:',
        '        - "/bin/sh"',
        '        - "-c"',
        '        - "echo \\"a $B\\" > /tmp/x"',
        '      env: []',
        '---',
        'apiVersion: "v1"',
        'kind: "Service"',
        'metadata:',
        '  name: "web"',
        'spec:',
        '  selector:',
        '    app: "web"',
        '  ports:',
        '    - port: 80',
        '      targetPort: 18080',
        '',
      ].join('\n'),
    );
  });

  it("takes a Service's selector and target port, and refuses what is not a Service with both", () => {
    expect(serviceTarget(service)).toEqual({ selector: { app: 'web' }, port: 80, targetPort: 18080 });
    expect(serviceTarget({ ...service, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }).targetPort).toBe(80);
    expect(() => serviceTarget({ ...service, kind: 'Pod' })).toThrow(/not a Service/);
    expect(() => serviceTarget({ ...service, spec: { ports: [{ port: 80 }] } })).toThrow(/not a Service/);
    expect(() => serviceTarget({ ...service, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } })).toThrow(/targetPort must be a number/);
  });
});
