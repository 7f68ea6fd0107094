import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { AdmissionStatus, AdmittedCall } from '../leadership/renewal-admission';

const ADMITTED_CALLS: readonly AdmittedCall[] = ['acquire', 'campaign'];

/**
 * registerAdmissionMetrics registers the renewal backlog and the admission control of new leases
 * (RenewalAdmission) in `registry`. `status` is read at each scrape; the returned function counts
 * one refused call (LeadershipService's `admission.onRefused`).
 */
export function registerAdmissionMetrics(
  registry: Registry,
  status: () => AdmissionStatus,
): (call: AdmittedCall) => void {
  new Gauge({
    name: 'omnirelay_renewal_backlog_seconds',
    help:
      'How long a lease renewal arriving now would wait on this node (seconds): how long the oldest renewal ' +
      'not answered yet has waited, plus, while one waits, how late the event loop runs now (0 on a follower, which renews ' +
      'nothing itself). Above --admission-renewal-lag-ms the leader refuses new leases.',
    registers: [registry],
    collect() {
      this.set(status().renewalLagMs / 1000);
    },
  });
  new Gauge({
    name: 'omnirelay_admission_refusing',
    help:
      '1 while this leader refuses new leases (Acquire, Campaign) with BACKPRESSURE because its renewals ' +
      'are backed up, else 0. If it stays 1, the cluster holds more leases than it can renew.',
    registers: [registry],
    collect() {
      this.set(status().refusing ? 1 : 0);
    },
  });
  const refusals = new Counter<'call'>({
    name: 'omnirelay_admission_refusals_total',
    help:
      'Calls asking for a new lease that this leader refused with BACKPRESSURE while its renewals were ' +
      'backed up (--admission-renewal-lag-ms), by call: acquire or campaign. The SDK retries them with backoff.',
    labelNames: ['call'],
    registers: [registry],
  });
  for (const call of ADMITTED_CALLS) refusals.inc({ call }, 0);
  return (call) => refusals.inc({ call });
}
