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
import type { K8shostOps } from '../../contracts.js';
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

export const k8shostOps: K8shostOps = {
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
