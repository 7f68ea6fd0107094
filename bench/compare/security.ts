/**
 * The security settings the compare bench can measure each target under, and `--security LIST`,
 * the comma-separated list of them one invocation runs (issue 16: TLS on and off side by side).
 */

/**
 * SECURITY_MODES are the settings a target can run under:
 * - `off`: plaintext on 127.0.0.1, no client authentication (the stock local cluster);
 * - `tls`: mutual TLS between peers and TLS on the client ports with required client
 *   certificates (OmniRelay --peer-tls-* and --client-tls-* with --client-tls-ca; etcd
 *   --peer-client-cert-auth and --client-cert-auth), every certificate from one bench CA.
 */
export const SECURITY_MODES = ['off', 'tls'] as const;

/** SecurityMode is one of SECURITY_MODES. */
export type SecurityMode = (typeof SECURITY_MODES)[number];

/** SECURITY_DEFAULT is what a run measures without --security: plaintext only, as before issue 16. */
export const SECURITY_DEFAULT: readonly SecurityMode[] = ['off'];

function isSecurityMode(s: string): s is SecurityMode {
  return (SECURITY_MODES as readonly string[]).includes(s);
}

/**
 * parseSecurityList reads the value of `--security`: a comma-separated list of SECURITY_MODES,
 * each at most once, in the order the runs interleave them. It throws an Error naming the bad
 * element; the caller adds the usage.
 */
export function parseSecurityList(raw: string | undefined): readonly SecurityMode[] {
  if (raw === undefined || raw.trim() === '' || raw.startsWith('--')) {
    throw new Error(`--security needs a list of ${SECURITY_MODES.join(', ')} (e.g. off,tls)`);
  }
  const modes: SecurityMode[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    if (!isSecurityMode(part)) {
      throw new Error(
        `--security takes ${SECURITY_MODES.join(' and ')} separated by commas, got ${JSON.stringify(part)} in ${JSON.stringify(raw)}`,
      );
    }
    if (modes.includes(part)) {
      throw new Error(`--security names ${JSON.stringify(part)} twice in ${JSON.stringify(raw)}`);
    }
    modes.push(part);
  }
  return modes;
}

/** securityLabel names a target under a mode in progress lines and tables: `etcd`, `etcd+tls`. */
export function securityLabel(target: string, mode: SecurityMode): string {
  return mode === 'off' ? target : `${target}+${mode}`;
}
