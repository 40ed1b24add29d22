/**
 * plasmavmc: VM control plane + worker agents = libvirt + QEMU. libvirtd is
 * socket-activated on node01-05 (it exits after 120 s idle, so an idle node
 * pays nothing); tenant guests run on the workers with domain type `kvm`
 * where the worker's own KVM works (nested, under `-cpu max`), `qemu`
 * otherwise. Guests boot the inner-guest kernel + initramfs baked into the
 * image (files/usr/lib/ultracloud/guest, docs/inner-guest.md).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { Node } from '../../../harness/remote/node.js';
import type { GuestSpec, InnerBoot, KvmAvailability, NbdExport, PlasmavmcOps } from '../../contracts.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const GUEST_KERNEL = '/usr/lib/ultracloud/guest/vmlinuz';
const GUEST_INITRD = '/usr/lib/ultracloud/guest/initrd.img';
const VIRSH = 'virsh -q -c qemu:///system';
/** Boot images staged on a worker (downloaded from the object store), one `<name>.initrd` each. */
const IMAGE_DIR = '/var/lib/libvirt/images';
/** What a guest's ultracloud.disk= covers at the start of its data disk (the init's disk_bytes). */
export const DISK_PATTERN_BYTES = 1024 * 1024;

export const TIMING = {
  /** libvirtd's first answer on a node probes QEMU's capabilities: slow under TCG. */
  answerS: 180,
  /** A tenant guest to its userspace marker (nested KVM: ~25 s; TCG inside TCG: minutes). */
  guestUpS: { kvm: 120, qemu: 600 },
  /** Two tenant guests on one logical switch to a ping answered through the Geneve tunnel. */
  pingS: 120,
  /** `virsh migrate --live` of a small guest between the workers (128 MiB busybox guest: 16.6 s). */
  migrateS: 300,
};

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

function serialLog(name: string): string {
  return `/var/log/libvirt/qemu/${name}-serial.log`;
}

/** The libvirt domain of a tenant guest; its NIC is an OVS port on br-int bound to an OVN logical port. */
export function guestDomainXml(g: GuestSpec, type: 'kvm' | 'qemu'): string {
  const cmdline = [
    'console=ttyS0',
    'quiet',
    `ultracloud.guest=${g.name}`,
    g.ip ? `ultracloud.ip=${g.ip}` : '',
    g.peer ? `ultracloud.peer=${g.peer}` : '',
    g.gateway ? `ultracloud.gw=${g.gateway}` : '',
    g.http ? 'ultracloud.http=1' : '',
    g.diskOp ? `ultracloud.disk=${diskOpArg(g.diskOp)}` : '',
    g.rootDisk ? 'ultracloud.root=/dev/vda' : '',
    g.rootDisk && g.init ? `ultracloud.init=${g.init}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const nic = g.ovnPort
    ? `
    <interface type='bridge'>
      <mac address='${xml(g.mac)}'/>
      <source bridge='br-int'/>
      <virtualport type='openvswitch'><parameters interfaceid='${xml(g.ovnPort)}'/></virtualport>
      <model type='virtio'/>
    </interface>`
    : '';
  // Disks: libvirt's QEMU opens each NBD export itself (no file on this node),
  // so a live migration's destination opens the same exports (shared storage;
  // QEMU flushes and hands the disks over at the switch-over).
  const nbdDisk = (d: NbdExport, dev: string) => `
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='nbd' name='${xml(d.name)}'><host name='${xml(d.host)}' port='${d.port}'/></source>
      <target dev='${dev}' bus='virtio'/>
    </disk>`;
  const disks = [g.rootDisk, g.dataDisk].filter((d): d is NbdExport => d !== undefined);
  const disk = disks.map((d, i) => nbdDisk(d, `vd${'ab'[i]}`)).join('');
  return `<domain type='${type}'>
  <name>${xml(g.name)}</name>
  <memory unit='MiB'>${g.memoryMiB ?? 128}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${GUEST_KERNEL}</kernel>
    <initrd>${g.image ? imagePath(g.image) : GUEST_INITRD}</initrd>
    <cmdline>${xml(cmdline)}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>${nic}${disk}
    <serial type='file'><source path='${serialLog(g.name)}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** A boot image's (or volume's) name: what may go into a file name and a shell word. */
function checkName(what: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(name)) throw new Error(`plasmavmc: bad ${what} name ${JSON.stringify(name)} (a-z 0-9 . -)`);
  return name;
}

export function imagePath(name: string): string {
  return `${IMAGE_DIR}/${checkName('image', name)}.initrd`;
}

/** `{op, pattern}` → the init's `ultracloud.disk=` value. */
export function diskOpArg(d: { op: 'write' | 'check'; pattern: string }): string {
  if (!/^[A-Za-z0-9._-]+$/.test(d.pattern)) throw new Error(`plasmavmc: disk pattern ${JSON.stringify(d.pattern)} must be [A-Za-z0-9._-]+ (the guest's console word)`);
  return `${d.op}:${d.pattern}`;
}

/** The first DISK_PATTERN_BYTES of a data disk written with `pattern` (busybox `yes pattern | head -c`). */
export function diskPattern(pattern: string): Buffer {
  diskOpArg({ op: 'write', pattern });
  const line = `${pattern}\n`;
  return Buffer.from(line.repeat(Math.ceil(DISK_PATTERN_BYTES / line.length)), 'latin1').subarray(0, DISK_PATTERN_BYTES);
}

/** One newc (SVR4, no CRC) cpio entry: header, name, data, each padded to 4 bytes. */
function newcEntry(name: string, mode: number, data: Buffer, ino: number): Buffer {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const nameBytes = Buffer.from(`${name}\0`, 'latin1');
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  return Buffer.concat([header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length)]);
}

/**
 * A newc cpio archive of `files` (path → content; parent folders made
 * 0755), ended by its trailer: what the kernel unpacks into the initramfs
 * after the archive before it.
 */
export function newcArchive(files: Record<string, string | Buffer>): Buffer {
  const entries: Buffer[] = [];
  const dirs = new Set<string>();
  let ino = 1;
  for (const [file, content] of Object.entries(files)) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push(newcEntry(dir, 0o40755, Buffer.alloc(0), ino++));
      }
    }
    entries.push(newcEntry(file, 0o100644, Buffer.isBuffer(content) ? content : Buffer.from(content, 'latin1'), ino++));
  }
  entries.push(newcEntry('TRAILER!!!', 0, Buffer.alloc(0), 0));
  return Buffer.concat(entries);
}

/**
 * `initrd` (the compressed cpio the kernel unpacks first) padded to 4
 * bytes, then an uncompressed newc archive holding `/etc/ultracloud-image`
 * = `id`: the kernel unpacks concatenated archives in order, so the guest
 * sees the file and prints it (ULTRACLOUD_GUEST_IMAGE id=...).
 */
export function stampImage(initrd: Buffer, id: string): Buffer {
  if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new Error(`plasmavmc: image id ${JSON.stringify(id)} must be [A-Za-z0-9._-]+`);
  return Buffer.concat([initrd, Buffer.alloc((4 - (initrd.length % 4)) % 4), newcArchive({ 'etc/ultracloud-image': `${id}\n` })]);
}

/** The KVM facts a node shows an inner guest, each named when missing. */
async function kvmAvailability(node: Node): Promise<KvmAvailability> {
  const r = await node.execute(
    "printf 'cpu=%s module=%s dev=%s' \"$(grep -owm1 -E 'svm|vmx' /proc/cpuinfo || echo none)\" \"$(lsmod | grep -owm1 -E 'kvm_amd|kvm_intel' || echo none)\" \"$([ -c /dev/kvm ] && echo yes || echo no)\"",
  );
  const facts = r.stdout.trim();
  if (r.code !== 0 || !/^cpu=\S+ module=\S+ dev=\S+$/.test(facts)) {
    throw new NodeError(node.name, 'plasmavmc: could not read the KVM facts (CPU flag, module, /dev/kvm)', { lastSeen: `${r.stdout}${r.stderr}`.trim() });
  }
  const missing = [
    ...(/cpu=none/.test(facts) ? ['the CPU offers no svm/vmx flag'] : []),
    ...(/module=none/.test(facts) ? ['no kvm_amd/kvm_intel module is loaded'] : []),
    ...(/dev=no/.test(facts) ? ['/dev/kvm does not exist'] : []),
  ];
  const usable = missing.length === 0;
  return { usable, facts, missing, reason: usable ? `KVM usable (${facts})` : `no usable KVM on ${node.name}: ${missing.join(', ')} (${facts})` };
}

async function bootInnerGuest(node: Node, accel: 'kvm' | 'tcg', timeoutS: number): Promise<InnerBoot> {
  const log = `/run/ultracloud/inner-${accel}.log`;
  // -accel kvm has no fallback: QEMU exits at once if KVM cannot be used.
  const cpu = accel === 'kvm' ? 'host' : 'max';
  const cmd = [
    `rm -f ${log}; start=$(date +%s%N);`,
    `timeout ${timeoutS} qemu-system-x86_64 -accel ${accel} -cpu ${cpu} -m 128 -smp 1 -nodefaults -display none -no-reboot`,
    `-kernel ${GUEST_KERNEL} -initrd ${GUEST_INITRD} -serial file:${log}`,
    `-append 'console=ttyS0 quiet ultracloud.guest=inner-${node.name}-${accel} ultracloud.poweroff=1'; rc=$?`,
    'end=$(date +%s%N); echo "rc=$rc wall_ms=$(( (end - start) / 1000000 ))"',
  ].join(' ');
  const out = await node.execute(cmd, (timeoutS + 30) * 1000);
  const rc = /rc=(\d+)/.exec(out.stdout);
  const wall = /wall_ms=(\d+)/.exec(out.stdout);
  const consoleText = (await node.execute(`tail -c 4000 ${log}`)).stdout;
  const marker = parseGuestMarker(consoleText);
  return {
    accel,
    marker: marker?.line,
    hypervisor: marker?.hypervisor,
    kvmClock: marker?.kvm_clock === undefined ? undefined : marker.kvm_clock === 'yes',
    guestUptimeS: marker?.uptime ? Number(marker.uptime) : undefined,
    wallS: wall ? Number(wall[1]) / 1000 : NaN,
    exitCode: rc ? Number(rc[1]) : (out.code ?? -1),
    console: consoleText + (out.stderr ? `\n[qemu stderr] ${out.stderr}` : ''),
  };
}

/** libvirt's refusal of a kvm domain where /dev/kvm does not work (libvirt 9 on Debian 12: "the accel 'kvm' is not supported by '/usr/bin/qemu-system-x86_64' on this host", as `cluster prove` saw). */
const KVM_REFUSED = /KVM is not supported|accel 'kvm' is not supported|does not support virt type 'kvm'|virttype kvm.*not supported/i;

export const plasmavmcOps: PlasmavmcOps = {
  timing: TIMING,
  async domainType(node) {
    // libvirt's own verdict: domain capabilities for kvm exist only where /dev/kvm works. Its refusal
    // says so ("KVM is not supported ..."); any other failure (libvirtd down, no answer) is an error, not TCG.
    const r = await node.execute(`${VIRSH} domcapabilities --virttype kvm >/dev/null`, 240_000);
    if (r.code === 0) return 'kvm';
    if (KVM_REFUSED.test(r.stderr)) return 'qemu';
    throw new NodeError(node.name, 'plasmavmc: libvirt did not answer which domain type it can give guests', {
      expected: "virsh domcapabilities --virttype kvm: capabilities, or libvirt's refusal that KVM is not supported",
      lastSeen: `exit ${r.code}: ${`${r.stdout}${r.stderr}`.trim()}`,
    });
  },
  async startGuest(node, g) {
    const type = await plasmavmcOps.domainType(node);
    const file = `/run/ultracloud/guest-${g.name}.xml`;
    await node.succeed(`rm -f ${serialLog(g.name)} && cat > ${file} <<'XML'\n${guestDomainXml(g, type)}XML`);
    await node.succeed(`${VIRSH} define ${file} && ${VIRSH} start ${g.name}`, 240_000);
    return type;
  },
  async console(node, name) {
    return (await node.execute(`cat ${serialLog(name)} 2>/dev/null`)).stdout;
  },
  async deleteGuest(node, name) {
    await node.execute(`${VIRSH} destroy ${name} 2>/dev/null; ${VIRSH} undefine ${name} 2>/dev/null; rm -f /run/ultracloud/guest-${name}.xml ${serialLog(name)}`, 120_000);
  },
  async guests(node) {
    const out = await node.succeed(`${VIRSH} list --all --name`, 240_000);
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  },
  async stopGuest(node, name) {
    // destroy is the power cord: the inner guest has no ACPI handling. Already off: nothing to do.
    const state = await plasmavmcOps.guestState(node, name);
    if (state && state !== 'shut off') await node.succeed(`${VIRSH} destroy ${checkName('guest', name)}`, 120_000);
  },
  async guestState(node, name) {
    const r = await node.execute(`${VIRSH} domstate ${checkName('guest', name)}`, 240_000);
    if (r.code === 0) return r.stdout.trim();
    if (/failed to get domain|Domain not found/i.test(r.stderr)) return undefined;
    throw new NodeError(node.name, `plasmavmc: libvirt did not answer for the state of ${name}`, { lastSeen: `${r.stdout}${r.stderr}`.trim() });
  },
  async restartGuest(node, name) {
    await plasmavmcOps.stopGuest(node, name);
    await node.succeed(`rm -f ${serialLog(checkName('guest', name))} && ${VIRSH} start ${name}`, 240_000);
  },
  async migrateGuest(from, to, name) {
    // libvirt to libvirt over TCP on the cluster network (libvirtd-tcp.socket on the workers, no auth:
    // the management NIC forwards only SSH), QEMU's migration stream straight to the destination.
    const cmd = `start=$(date +%s%N); ${VIRSH} migrate --live --persistent --undefinesource ${checkName('guest', name)} qemu+tcp://${to.spec.clusterIp}/system --migrateuri tcp://${to.spec.clusterIp}; rc=$?; echo "wall_ms=$((($(date +%s%N) - start) / 1000000))"; exit $rc`;
    const r = await from.execute(cmd, TIMING.migrateS * 1000);
    if (r.code !== 0) throw new NodeError(from.name, `plasmavmc: live migration of ${name} to ${to.name} failed`, { expected: 'virsh migrate --live exits 0', lastSeen: `${r.stdout}${r.stderr}`.trim() });
    return { seconds: Number(/wall_ms=(\d+)/.exec(r.stdout)?.[1] ?? NaN) / 1000 };
  },
  imagePath,
  async images(node) {
    const out = await node.succeed(`ls -1 ${IMAGE_DIR}`);
    return out.split('\n').filter((l) => l.endsWith('.initrd')).map((l) => l.slice(0, -'.initrd'.length));
  },
  async deleteImage(node, name) {
    await node.succeed(`rm -f ${imagePath(name)} ${imagePath(name)}.part`);
  },
  async baseImage(node) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ultracloud-initrd-'));
    try {
      await node.getFile(GUEST_INITRD, path.join(dir, 'initrd.img'));
      const data = await fs.readFile(path.join(dir, 'initrd.img'));
      // The node's own sum: the copy is the file, not a truncated transfer.
      const sum = (await node.succeed(`sha256sum ${GUEST_INITRD}`)).split(' ')[0];
      const got = createHash('sha256').update(data).digest('hex');
      if (got !== sum) throw new NodeError(node.name, `plasmavmc: the copy of ${GUEST_INITRD} differs from the node's file`, { expected: sum, lastSeen: got });
      return data;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  },
  stampImage,
  diskPattern,
  kvmAvailability,
  bootInnerGuest,
};

export const plasmavmc: Role = {
  name: 'plasmavmc',
  description: 'libvirt + QEMU: socket-activated libvirtd on every control and worker node; tenant guests on workers',
  hostedOn: (n) => n.kind === 'control' || n.kind === 'worker',
  image: {
    packages: ['libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86', 'qemu-utils', 'busybox-static', 'kmod'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
    disableUnits: ['libvirtd.service', 'libvirt-guests.service', 'virtlockd.service', 'virtlogd.service', 'libvirtd-admin.socket', 'virtlockd-admin.socket', 'virtlogd-admin.socket'],
  },
  // Workers also listen on TCP 16509 for each other's libvirtd: live migration (migrateGuest).
  units: (n) => ['libvirtd.socket', 'libvirtd-ro.socket', 'virtlogd.socket', 'virtlockd.socket', ...(n.kind === 'worker' ? ['libvirtd-tcp.socket'] : [])],
  // libvirtd starts on its socket's first client and then probes QEMU (50-75 s per node under TCG, all five at once):
  // done at boot, the probe is cached on disk and held by the warm snapshot instead of paid by every run's first virsh.
  readyChecks: [{ what: 'libvirtd answers with its capabilities (QEMU probed)', command: `${VIRSH} capabilities >/dev/null` }],
  probes: [
    {
      name: 'libvirtd answers (version, capabilities) over its socket',
      async run(node) {
        const out = await node.succeed(`${VIRSH} version`, TIMING.answerS * 1000);
        if (!/Running hypervisor: QEMU/.test(out)) {
          throw new NodeError(node.name, 'plasmavmc: libvirtd did not report its QEMU hypervisor', { lastSeen: out.trim() });
        }
        // The host capabilities: an x86_64 guest arch with QEMU's emulator, which every domain here needs.
        const caps = await node.succeed(`${VIRSH} capabilities`, TIMING.answerS * 1000);
        if (!/<arch name=['"]x86_64['"]>[\s\S]*?<emulator>[^<]*qemu-system-x86_64<\/emulator>/.test(caps)) {
          throw new NodeError(node.name, 'plasmavmc: libvirtd capabilities list no x86_64 guest with qemu-system-x86_64', { lastSeen: caps.trim().slice(-800) });
        }
      },
    },
  ],
  ops: plasmavmcOps,
};

/**
 * The first console line holding `prefix` (`ULTRACLOUD_GUEST_USERSPACE
 * name=.. uptime=.. hypervisor=.. kvm_clock=..` by default) whose fields
 * match `want`, as its fields (the marker's own, from `prefix` on).
 */
export function parseGuestMarker(text: string, prefix = 'ULTRACLOUD_GUEST_USERSPACE', want: Record<string, string> = {}): Record<string, string> | undefined {
  for (const l of text.split('\n')) {
    const at = l.indexOf(prefix);
    if (at < 0) continue;
    const marker = l.slice(at).trim();
    const fields: Record<string, string> = { line: marker };
    for (const m of marker.matchAll(/(\w+)=(\S+)/g)) fields[m[1]] = m[2];
    if (Object.entries(want).every(([k, v]) => fields[k] === v)) return fields;
  }
  return undefined;
}
