/**
 * isLoopbackHost tells whether a listen host is reachable from this machine only: `localhost`,
 * 127.0.0.0/8 or ::1. An empty host, 0.0.0.0 or :: listen on every interface.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** PlaintextListener is one port a node listens on, and whether it is secured (TLS, and client authentication where it applies). */
export interface PlaintextListener {
  readonly what: string;
  readonly address: string;
  readonly tls: boolean;
  /** flags name the settings that secure this port. */
  readonly flags: string;
  /** missing says what an unsecured port lacks (default `TLS`). */
  readonly missing?: string;
}

/**
 * refusePlaintextOffLoopback says why a node must not start: a port that listens beyond the
 * loopback interface without TLS (DESIGN.md: plaintext is for loopback development only), unless
 * the operator said --insecure explicitly. Undefined when every port is fine.
 */
export function refusePlaintextOffLoopback(
  listeners: readonly PlaintextListener[],
  insecure: boolean,
): string | undefined {
  if (insecure) return undefined;
  for (const l of listeners) {
    const host = l.address.slice(0, l.address.lastIndexOf(':'));
    if (l.tls || isLoopbackHost(host)) continue;
    return (
      `refusing to serve the ${l.what} on ${l.address} without ${l.missing ?? 'TLS'}: pass ${l.flags} ` +
      `(omnirelay cert issue makes the files), or --insecure true to accept that on a network you trust`
    );
  }
  return undefined;
}
