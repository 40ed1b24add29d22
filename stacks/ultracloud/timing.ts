/**
 * Deadlines of the ultracloud stack's roles (seconds unless named ms). Not
 * measured on UltraCloud's servers: the reference stack's values, sized for
 * six TCG guests on two host cores, as a start. A KVM host may tighten them;
 * tune each here once the roles run.
 */
export const TIMING = {
  chainfire: { newLeaderS: 90, rejoinS: 120 },
  flaredb: { convergeS: 30, failoverS: 120, rejoinS: 120 },
  iam: { replicateS: 60, rejoinS: 120 },
  flashdns: { transferS: 90 },
  fiberlb: { reloadS: 30, failoverS: 45 },
  prismnet: { electionMs: 16_000, bindS: 90, chassisS: 120 },
  plasmavmc: { answerS: 180, guestUpS: { kvm: 120, qemu: 600 }, pingS: 120 },
  deployer: { leaseS: 30, settleS: 60, failoverS: 120, handoverS: 60 },
};
