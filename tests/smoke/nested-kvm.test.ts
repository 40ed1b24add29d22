/**
 * Worker virtualization: each worker boots the inner guest (kernel +
 * busybox initramfs baked into the image) with plain QEMU and `-accel kvm`,
 * no fallback. It counts only if the guest reached userspace and its own
 * kernel detected the KVM hypervisor (a CPUID leaf TCG does not present).
 * A worker without usable KVM skips that check with the reason found, and
 * proves the same guest under TCG instead; it never passes without KVM.
 */
import { describe } from 'vitest';
import { clusterInfo, test } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';

const WORKERS = clusterInfo.nodes.filter((n) => n.kind === 'worker').map((n) => n.name);
/** Inner guest to userspace: ~25 s under nested KVM here; TCG inside TCG is minutes. */
const DEADLINE_S = { kvm: 180, tcg: 480 };

describe.concurrent.each(WORKERS)('%s', (nodeName) => {
  // bootInnerGuest's command runs 30 s past the guest's deadline (QEMU's own exit and the console read).
  test('boots an inner guest with -accel kvm to userspace, and the guest sees KVM and runs on kvm-clock', { timeout: budget(DEADLINE_S.kvm + 30) }, async ({ cluster, expect, skip, signal }) => {
    const node = cluster.node(nodeName).withSignal(signal);
    const { plasmavmc } = cluster.ops;
    const kvm = await plasmavmc.kvmAvailability(node);
    if (!kvm.usable) {
      console.log(`${nodeName}: nested KVM check skipped: ${kvm.reason}`);
      skip(kvm.reason);
    }
    const boot = await plasmavmc.bootInnerGuest(node, 'kvm', DEADLINE_S.kvm);
    console.log(`${nodeName}: inner guest under KVM: userspace at ${boot.guestUptimeS}s of its uptime, QEMU ran ${boot.wallS}s (${kvm.reason})`);
    expect(boot.marker, `${nodeName}: inner guest marker on its console:\n${boot.console}`).toBeDefined();
    expect(boot.hypervisor, `${nodeName}: the inner kernel's hypervisor: ${boot.marker}`).toBe('KVM');
    // The guest's current clocksource (the marker's kvm_clock=yes): KVM's paravirtual clock, which TCG does not offer.
    expect(boot.kvmClock, `${nodeName}: the inner kernel's clocksource is kvm-clock: ${boot.marker}`).toBe(true);
    expect(boot.exitCode, `${nodeName}: QEMU exit (0 = guest powered off): ${boot.console.slice(-400)}`).toBe(0);
  });

  test('boots the inner guest under TCG where KVM is not usable', { timeout: budget(DEADLINE_S.tcg + 30) }, async ({ cluster, expect, skip, signal }) => {
    const node = cluster.node(nodeName).withSignal(signal);
    const { plasmavmc } = cluster.ops;
    const kvm = await plasmavmc.kvmAvailability(node);
    if (kvm.usable) skip(`KVM is usable on ${nodeName}; the -accel kvm check covers the inner guest`);
    const boot = await plasmavmc.bootInnerGuest(node, 'tcg', DEADLINE_S.tcg);
    console.log(`${nodeName}: inner guest under TCG: userspace at ${boot.guestUptimeS}s of its uptime, QEMU ran ${boot.wallS}s`);
    expect(boot.marker, `${nodeName}: inner guest marker on its console:\n${boot.console}`).toBeDefined();
    expect(boot.hypervisor, `${nodeName}: a TCG guest must not see KVM`).not.toBe('KVM');
  });
});
