/**
 * Worker virtualization: each worker boots the inner guest (kernel +
 * busybox initramfs baked into the image) with plain QEMU and `-accel kvm`,
 * no fallback. It counts only if the guest reached userspace and its own
 * kernel detected the KVM hypervisor (a CPUID leaf TCG does not present).
 *
 * Whether a worker must have KVM comes from what the harness gave it (its
 * QEMU argv and the host's facts: `clusterInfo.expect`), never from the
 * worker's own report: where KVM is expected and the worker lacks it, the
 * KVM check fails naming the missing fact (KVM was lost). Only where the
 * harness expects no KVM is that check skipped, with the reason, and the
 * same guest proven under TCG instead.
 */
import { describe } from 'vitest';
import { clusterInfo, nodesOfKind, test } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';

const WORKERS = nodesOfKind('worker');
/** Inner guest to userspace: ~25 s under nested KVM here; TCG inside TCG is minutes. */
const DEADLINE_S = { kvm: 180, tcg: 480 };

/** What the harness expects of the worker; a cluster record without it is an error, not "no KVM". */
function expectedKvm(nodeName: string): { expected: boolean; reason: string } {
  const want = clusterInfo.expect[nodeName]?.nestedKvm;
  if (!want) throw new Error(`${nodeName}: the cluster record has no nested-KVM expectation for this node (restart the cluster)`);
  return want;
}

describe.concurrent.each(WORKERS)('%s', (nodeName) => {
  // bootInnerGuest's command runs 30 s past the guest's deadline (QEMU's own exit and the console read).
  test('boots an inner guest with -accel kvm to userspace, and the guest sees KVM and runs on kvm-clock', { timeout: budget(DEADLINE_S.kvm + 30) }, async ({ cluster, expect, skip, signal }) => {
    const node = cluster.node(nodeName).withSignal(signal);
    const { plasmavmc } = cluster.ops;
    const want = expectedKvm(nodeName);
    if (!want.expected) {
      console.log(`${nodeName}: nested KVM check skipped: the harness expects no KVM here: ${want.reason}`);
      skip(`no nested KVM expected on ${nodeName}: ${want.reason}`);
    }
    const kvm = await plasmavmc.kvmAvailability(node);
    expect(kvm.missing, `${nodeName}: nested KVM is expected (${want.reason}), but the worker lost it: ${kvm.reason}`).toEqual([]);
    const boot = await plasmavmc.bootInnerGuest(node, 'kvm', DEADLINE_S.kvm);
    console.log(`${nodeName}: inner guest under KVM: userspace at ${boot.guestUptimeS}s of its uptime, QEMU ran ${boot.wallS}s (${kvm.reason})`);
    expect(boot.marker, `${nodeName}: inner guest marker on its console:\n${boot.console}`).toBeDefined();
    expect(boot.hypervisor, `${nodeName}: the inner kernel's hypervisor: ${boot.marker}`).toBe('KVM');
    // The guest's current clocksource (the marker's kvm_clock=yes): KVM's paravirtual clock, which TCG does not offer.
    expect(boot.kvmClock, `${nodeName}: the inner kernel's clocksource is kvm-clock: ${boot.marker}`).toBe(true);
    expect(boot.exitCode, `${nodeName}: QEMU exit (0 = guest powered off): ${boot.console.slice(-400)}`).toBe(0);
  });

  test('boots the inner guest under TCG where the harness expects no KVM', { timeout: budget(DEADLINE_S.tcg + 30) }, async ({ cluster, expect, skip, signal }) => {
    const node = cluster.node(nodeName).withSignal(signal);
    const { plasmavmc } = cluster.ops;
    const want = expectedKvm(nodeName);
    if (want.expected) skip(`KVM is expected on ${nodeName} (${want.reason}); the -accel kvm check covers the inner guest`);
    const boot = await plasmavmc.bootInnerGuest(node, 'tcg', DEADLINE_S.tcg);
    console.log(`${nodeName}: inner guest under TCG: userspace at ${boot.guestUptimeS}s of its uptime, QEMU ran ${boot.wallS}s`);
    expect(boot.marker, `${nodeName}: inner guest marker on its console:\n${boot.console}`).toBeDefined();
    expect(boot.hypervisor, `${nodeName}: a TCG guest must not see KVM`).not.toBe('KVM');
  });
});
