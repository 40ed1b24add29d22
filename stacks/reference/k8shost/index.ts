/**
 * k8shost: Kubernetes-style hosting = `podman kube play` of Kubernetes Pod
 * YAML on the workers. The container image is built locally from Debian's
 * busybox-static and imported into podman's storage at image build
 * (customize.sh; setup.sh imports it at boot only where that failed);
 * podman has no daemon, so an idle worker pays nothing for it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { K8shostOps, KubeObject } from '../../contracts.js';
import { waitFor } from '../../../harness/wait.js';

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

const KUBE_NAME = /^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/;
const kubeFile = (name: string) => `/run/ultracloud/kube-${name}.yaml`;

export const k8shostOps: K8shostOps = {
  async apply(node, name, objects) {
    if (!KUBE_NAME.test(name)) throw new Error(`k8shost: bad name ${JSON.stringify(name)}`);
    await node.succeed(`cat > ${kubeFile(name)} <<'YAML'\n${kubeYaml(objects)}YAML\npodman kube play --replace --quiet ${kubeFile(name)} >/dev/null`, 240_000);
  },
  async remove(node, name) {
    if (!KUBE_NAME.test(name)) throw new Error(`k8shost: bad name ${JSON.stringify(name)}`);
    await node.succeed(`if [ -e ${kubeFile(name)} ]; then podman kube down ${kubeFile(name)} >/dev/null && rm -f ${kubeFile(name)}; fi`, 120_000);
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
      if (ready.length > 0) found.push({ node: node.name, address: node.spec.clusterIp, port: targetPort });
    }
    return found;
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
        await k8shostOps.down(node, name).catch(() => undefined); // a failed run's leftover
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
