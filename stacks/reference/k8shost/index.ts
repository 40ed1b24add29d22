/**
 * k8shost: Kubernetes-style hosting = `podman kube play` of Kubernetes Pod
 * YAML on the workers. The container image is built locally from Debian's
 * busybox-static and imported into podman's storage at image build
 * (customize.sh; setup.sh imports it at boot only where that failed);
 * podman has no daemon, so an idle worker pays nothing for it.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { K8shostOps, KubeObject } from '../../contracts.js';
import { waitFor } from '../../../harness/remote/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const POD_IMAGE = 'localhost/ultracloud/busybox:1';

export function podYaml(name: string, marker: string, script = `echo ${marker} $(id -u); exec sleep 3600`): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: ultracloud-smoke
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
    - name: main
      image: ${POD_IMAGE}
      command: ["/bin/sh", "-c", ${JSON.stringify(script)}]
`;
}

/** YAML of one value, block style, strings double-quoted (JSON escapes are YAML's too). */
function yamlLines(v: unknown, ind: string): string[] {
  const inline = (x: unknown): string | undefined => {
    if (x === null) return 'null';
    if (typeof x === 'string') return JSON.stringify(x);
    if (typeof x === 'number' || typeof x === 'boolean') {
      if (typeof x === 'number' && !Number.isFinite(x)) throw new Error(`kubeYaml: not a YAML number: ${x}`);
      return String(x);
    }
    if (Array.isArray(x) && x.length === 0) return '[]';
    if (typeof x === 'object' && !Array.isArray(x) && Object.keys(x as object).length === 0) return '{}';
    if (typeof x === 'object') return undefined;
    throw new Error(`kubeYaml: cannot write ${typeof x}`);
  };
  const key = (k: string) => (/^[A-Za-z0-9_./-]+$/.test(k) ? k : JSON.stringify(k));
  if (Array.isArray(v)) {
    return v.flatMap((item) => {
      const one = inline(item);
      if (one !== undefined) return [`${ind}- ${one}`];
      const sub = yamlLines(item, `${ind}  `);
      return [`${ind}- ${sub[0].slice(ind.length + 2)}`, ...sub.slice(1)];
    });
  }
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => {
    const one = inline(x);
    return one !== undefined ? [`${ind}${key(k)}: ${one}`] : [`${ind}${key(k)}:`, ...yamlLines(x, `${ind}  `)];
  });
}

/** Kubernetes objects as one multi-document YAML file, as `podman kube play` (and kubectl) read it. */
export function kubeYaml(objects: KubeObject[]): string {
  return objects.map((o) => `${yamlLines(o, '').join('\n')}\n`).join('---\n');
}

/** A Service's selector and target port (the first port's targetPort, or its port); throws on anything else. */
export function serviceTarget(svc: KubeObject): { selector: Record<string, string>; port: number; targetPort: number } {
  const spec = svc.spec as { selector?: Record<string, string>; ports?: { port?: number; targetPort?: number }[] };
  const port = spec.ports?.[0];
  if (svc.kind !== 'Service' || !spec.selector || Object.keys(spec.selector).length === 0 || !port || !Number.isInteger(port.port)) {
    throw new Error(`k8shost: not a Service with a selector and a port: ${JSON.stringify(svc)}`);
  }
  const targetPort = port.targetPort ?? port.port!;
  if (!Number.isInteger(targetPort)) throw new Error(`k8shost: Service ${svc.metadata.name}: targetPort must be a number here, not ${JSON.stringify(targetPort)}`);
  return { selector: spec.selector, port: port.port!, targetPort };
}

/**
 * A Pod's PrismNet NIC, from its annotations (what a CNI plugin reads from
 * the Pod): `prismnet.ultracloud.io/port` (the logical port's name, its
 * OVS iface-id), `/mac`, `/address` (CIDR) and `/gateway` (the PrismNet
 * router's address on the switch).
 */
export const PRISMNET_ANNOTATION = 'prismnet.ultracloud.io';
/** MTU of a Pod's PrismNet NIC: Geneve's 58 bytes under the cluster network's 1500 (as the tenant guests). */
export const POD_NIC_MTU = 1400;
/** The OVS external_ids key tagging a Pod NIC with the name of what apply() played, so remove() finds it. */
const KUBE_TAG = 'ultracloud-kube';

export interface PodNic {
  pod: string;
  port: string;
  mac: string;
  /** a.b.c.d/p */
  address: string;
  gateway: string;
  /** The veth end on br-int (host side); Linux names are at most 15 characters: a hash of the port. */
  hostIface: string;
  /** The other end's name until it is in the Pod's namespace, where it becomes eth0. */
  peerIface: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const ipNum = (ip: string) => {
  const m = IPV4.exec(ip);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) return undefined;
  return m.slice(1).reduce((a, o) => a * 256 + Number(o), 0);
};

/**
 * The PrismNet NICs the Pods among `objects` ask for (Pods without the
 * annotations have none); throws on an incomplete or inconsistent set, a
 * gateway outside the address's network, or a hostNetwork Pod with a NIC.
 */
export function podNics(objects: KubeObject[]): PodNic[] {
  return objects
    .filter((o) => o.kind === 'Pod')
    .flatMap((o) => {
      const a = o.metadata.annotations ?? {};
      const keys = ['port', 'mac', 'address', 'gateway'] as const;
      const v = Object.fromEntries(keys.map((k) => [k, a[`${PRISMNET_ANNOTATION}/${k}`]])) as Record<(typeof keys)[number], string | undefined>;
      const given = keys.filter((k) => v[k] !== undefined);
      if (given.length === 0) return [];
      const bad = (why: string): never => {
        throw new Error(`k8shost: Pod ${o.metadata.name}: ${why} (annotations ${JSON.stringify(a)})`);
      };
      if (given.length !== keys.length) bad(`a PrismNet NIC needs all of ${keys.map((k) => `${PRISMNET_ANNOTATION}/${k}`).join(', ')}`);
      if ((o.spec as { hostNetwork?: boolean }).hostNetwork) bad('a hostNetwork Pod cannot have a PrismNet NIC');
      if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/.test(v.port!)) bad(`not a logical port name: ${v.port}`);
      if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(v.mac!) || parseInt(v.mac!.slice(0, 2), 16) & 1) bad(`not a unicast MAC (lower case): ${v.mac}`);
      const [ip, len] = v.address!.split('/');
      const prefix = Number(len);
      const addr = ipNum(ip);
      const gw = ipNum(v.gateway!);
      if (addr === undefined || !/^\d{1,2}$/.test(len ?? '') || prefix < 1 || prefix > 30) bad(`not an address with a prefix of 1-30: ${v.address}`);
      if (gw === undefined) bad(`not an IPv4 address: ${v.gateway}`);
      const size = 2 ** (32 - prefix);
      if (Math.floor(addr! / size) !== Math.floor(gw! / size) || addr === gw) bad(`gateway ${v.gateway} is not another address of ${v.address}'s network`);
      const h = crypto.createHash('sha256').update(v.port!).digest('hex').slice(0, 10);
      return [{ pod: o.metadata.name, port: v.port!, mac: v.mac!, address: v.address!, gateway: v.gateway!, hostIface: `ucp-${h}`, peerIface: `ucq-${h}` }];
    });
}

/**
 * Shell that gives a played Pod its PrismNet NIC (a CNI plugin's ADD): a
 * veth pair, one end on br-int with the logical port as iface-id (the
 * worker's ovn-controller binds it to its chassis), the other moved into
 * the network namespace of the Pod's infra container as eth0 with the
 * address and a default route via the PrismNet router. Re-running replaces
 * the NIC.
 */
export function attachNicScript(kube: string, nic: PodNic): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    'set -e',
    `infra=$(podman pod inspect --format '{{.InfraContainerID}}' ${q(nic.pod)})`,
    `pid=$(podman inspect --format '{{.State.Pid}}' "$infra")`,
    `[ "$pid" -gt 0 ] || { echo "Pod ${nic.pod}: infra container $infra has no process" >&2; exit 1; }`,
    `[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/1/ns/net)" ] || { echo "Pod ${nic.pod} shares the node's network" >&2; exit 1; }`,
    `ovs-vsctl --timeout=30 --if-exists del-port br-int ${nic.hostIface}`,
    `ip link del ${nic.hostIface} 2>/dev/null || true`,
    `ip link add ${nic.hostIface} mtu ${POD_NIC_MTU} type veth peer name ${nic.peerIface} mtu ${POD_NIC_MTU}`,
    `ip link set ${nic.peerIface} netns "$pid"`,
    `nsenter -t "$pid" -n sh -ec ${q(
      [
        `ip link set ${nic.peerIface} name eth0`,
        `ip link set eth0 address ${nic.mac}`,
        `ip addr replace ${nic.address} dev eth0`,
        'ip link set eth0 up',
        `ip route replace default via ${nic.gateway} dev eth0`,
      ].join('; '),
    )}`,
    `ip link set ${nic.hostIface} up`,
    `ovs-vsctl --timeout=30 add-port br-int ${nic.hostIface} -- set Interface ${nic.hostIface} external_ids:iface-id=${q(nic.port)} external_ids:${KUBE_TAG}=${q(kube)}`,
  ].join('\n');
}

/** Shell that removes every Pod NIC played under `kube` from br-int (a CNI DEL; the namespace end went with the Pod). */
function detachNicsScript(kube: string): string {
  return [
    'set -e',
    `for i in $(ovs-vsctl --timeout=30 --bare --columns=name find Interface external_ids:${KUBE_TAG}=${kube}); do`,
    '  ovs-vsctl --timeout=30 --if-exists del-port br-int "$i"',
    '  ip link del "$i" 2>/dev/null || true',
    'done',
  ].join('\n');
}

/** `ip -o -4 addr show dev eth0` in a Pod's namespace -> its address (without prefix), or undefined. */
export function podAddress(text: string): string | undefined {
  return /\binet (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(text)?.[1];
}

/** nic()'s output (lines `addr <ip -o addr>`, `link <ip -o link>`, `route <default route>`) -> eth0 of a Pod. */
export function parsePodNic(text: string): { address: string; mac: string; mtu: number; gateway?: string } | undefined {
  const line = (k: string) => text.split('\n').find((l) => l.startsWith(`${k} `))?.slice(k.length + 1) ?? '';
  const address = /\binet (\S+)/.exec(line('addr'))?.[1];
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(line('link'))?.[1];
  const mtu = Number(/\bmtu (\d+)/.exec(line('link'))?.[1]);
  if (!address || !mac) return undefined;
  return { address, mac, mtu, gateway: /^default via (\S+)/.exec(line('route'))?.[1] };
}

const KUBE_NAME = /^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/;
const kubeFile = (name: string) => `/run/ultracloud/kube-${name}.yaml`;

export const k8shostOps: K8shostOps = {
  async apply(node, name, objects) {
    if (!KUBE_NAME.test(name)) throw new Error(`k8shost: bad name ${JSON.stringify(name)}`);
    const nics = podNics(objects);
    // Pods get no network from podman (no CNI bridge, no NAT): a PrismNet NIC where asked, else only loopback (or the node's, hostNetwork).
    await node.succeed(`cat > ${kubeFile(name)} <<'YAML'\n${kubeYaml(objects)}YAML\npodman kube play --replace --network none --quiet ${kubeFile(name)} >/dev/null`, 240_000);
    // --replace made new namespaces: the NICs of the Pods it replaced are dead ends on br-int.
    await node.succeed(detachNicsScript(name), 60_000);
    for (const nic of nics) await node.succeed(attachNicScript(name, nic), 60_000);
  },
  async remove(node, name) {
    if (!KUBE_NAME.test(name)) throw new Error(`k8shost: bad name ${JSON.stringify(name)}`);
    await node.succeed(`if [ -e ${kubeFile(name)} ]; then podman kube down ${kubeFile(name)} >/dev/null && rm -f ${kubeFile(name)}; fi`, 120_000);
    await node.succeed(detachNicsScript(name), 60_000);
  },
  async endpoints(nodes, service) {
    const { selector, targetPort } = serviceTarget(service);
    const filters = Object.entries(selector).map(([k, v]) => `--filter label=${k}=${v}`).join(' ');
    const found: { node: string; address: string; port: number }[] = [];
    for (const node of nodes) {
      const out = await node.succeed(`podman pod ps ${filters} --format json`);
      const pods = JSON.parse(out || '[]') as { Name: string; Status: string; Labels?: Record<string, string>; Containers?: { Status: string }[] }[];
      // podman's label filter matches on each label; check them all again, and that every container runs.
      const ready = pods.filter(
        (p) => p.Status === 'Running' && Object.entries(selector).every(([k, v]) => p.Labels?.[k] === v) && (p.Containers ?? []).length > 0 && p.Containers!.every((c) => c.Status === 'running'),
      );
      for (const p of ready) {
        // The Pod's address as its network namespace has it: eth0's (its PrismNet NIC), or the node's when it shares the node's network.
        const r = await node.succeed(
          [
            `pid=$(podman pod inspect --format '{{.InfraContainerID}}' '${p.Name}' | xargs podman inspect --format '{{.State.Pid}}')`,
            `if [ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then echo host; else nsenter -t "$pid" -n ip -o -4 addr show dev eth0 scope global 2>/dev/null || true; fi`,
          ].join('\n'),
        );
        const address = r.trim() === 'host' ? node.spec.clusterIp : podAddress(r);
        if (address) found.push({ node: node.name, address, port: targetPort });
      }
    }
    return found;
  },
  async nic(node, pod) {
    const r = await node.succeed(
      [
        `infra=$(podman pod inspect --format '{{.InfraContainerID}}' '${pod}' 2>/dev/null) || exit 0`,
        `pid=$(podman inspect --format '{{.State.Pid}}' "$infra")`,
        `[ "$pid" -gt 0 ] && [ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/1/ns/net)" ] || exit 0`,
        `nsenter -t "$pid" -n ip -o -4 addr show dev eth0 scope global 2>/dev/null | sed 's/^/addr /' || true`,
        `nsenter -t "$pid" -n ip -o link show dev eth0 2>/dev/null | sed 's/^/link /' || true`,
        `nsenter -t "$pid" -n ip -4 route show default 2>/dev/null | sed 's/^/route /' || true`,
      ].join('\n'),
    );
    return parsePodNic(r);
  },
  async containers(node) {
    const out = await node.succeed(`podman ps -a --format '{{.Names}}'`);
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  },
  async play(node, name, marker) {
    const file = `/run/ultracloud/pod-${name}.yaml`;
    await node.succeed(`cat > ${file} <<'YAML'\n${podYaml(name, marker)}YAML\npodman kube play --quiet ${file}`, 240_000);
  },
  async run(node, name, script) {
    const file = `/run/ultracloud/pod-${name}.yaml`;
    await node.succeed(`cat > ${file} <<'YAML'\n${podYaml(name, '', script)}YAML\npodman kube play --quiet ${file} >/dev/null`, 240_000);
    try {
      await node.succeed(`podman wait ${name}-main >/dev/null`, 120_000);
      return (await node.succeed(`podman logs ${name}-main 2>&1`)).trimEnd();
    } finally {
      await node.execute(`podman kube down ${file} >/dev/null; rm -f ${file}`, 120_000);
    }
  },
  async state(node, name) {
    const r = await node.execute(`podman pod inspect --format '{{.State}}' ${name}`);
    return r.code === 0 ? r.stdout.trim() : undefined;
  },
  async logs(node, name) {
    return (await node.execute(`podman logs ${name}-main 2>&1`)).stdout;
  },
  async down(node, name) {
    await node.succeed(`podman kube down /run/ultracloud/pod-${name}.yaml >/dev/null && rm -f /run/ultracloud/pod-${name}.yaml`, 120_000);
  },
  async pods(node) {
    const out = await node.succeed(`podman pod ps --format '{{.Name}}'`);
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  },
};

export const k8shost: Role = {
  name: 'k8shost',
  description: 'podman kube play of Kubernetes Pod YAML on the workers, with a locally built image',
  hostedOn: (n) => n.kind === 'worker',
  image: {
    packages: ['podman', 'catatonit', 'busybox-static'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
    disableUnits: ['podman.socket', 'podman.service', 'podman-restart.service', 'podman-auto-update.service', 'podman-auto-update.timer', 'podman-clean-transient.service'],
  },
  units: ['ultracloud-role-setup@k8shost.service'],
  probes: [
    {
      name: 'a Pod played from Kubernetes YAML runs the local image and is removed',
      async run(node) {
        const name = `probe-${node.name}`;
        const marker = `ULTRACLOUD_POD_RUNNING_${node.name}`;
        // A failed run's leftover: take down the pod if it is there (and that must work).
        if ((await k8shostOps.pods(node)).includes(name)) await k8shostOps.down(node, name);
        await k8shostOps.play(node, name, marker);
        try {
          await waitFor({ node: node.name, what: `pod ${name} to log its marker`, timeoutMs: 120_000, intervalMs: 2000 }, async () => {
            const logs = await k8shostOps.logs(node, name);
            return { ok: logs.includes(marker), value: logs, seen: logs.slice(-300) || '(no log yet)' };
          });
          const state = await k8shostOps.state(node, name);
          if (state !== 'Running') throw new NodeError(node.name, `k8shost: pod ${name} is ${state ?? 'missing'}, not Running`);
        } finally {
          await k8shostOps.down(node, name);
        }
        const left = await k8shostOps.pods(node);
        if (left.includes(name)) throw new NodeError(node.name, `k8shost: pod ${name} still listed after kube down`, { lastSeen: left.join(', ') });
      },
    },
  ],
  ops: k8shostOps,
};
