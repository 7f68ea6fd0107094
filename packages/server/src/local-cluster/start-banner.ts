/** BannerNode is what the banner shows of one node. */
export interface BannerNode {
  readonly id: string;
  readonly peerAddress: string;
  readonly clientAddress: string;
  readonly grpcAddress: string;
  readonly logFile: string;
}

/**
 * AccessCredentials are what the printed commands present to a secure cluster: the CA that
 * signed the nodes' certificates and the operator's client certificate and key. (A bearer token
 * would join them here, printed as curl's `-H 'Authorization: Bearer …'` and the CLI's --token.)
 */
export interface AccessCredentials {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** ACQUIRE_EXAMPLE_BODY is the body of the printed acquire line. */
export const ACQUIRE_EXAMPLE_BODY = '{"scope":"global-control","candidateId":"me","leaseTtlMs":10000}';

/**
 * startBanner is what `npm start` prints before it starts the nodes: the cluster, how it is
 * secured, a table of the nodes' addresses and logs, and curl and CLI lines that work as printed
 * (`credentials` given: HTTPS with the operator's certificate; otherwise plaintext). Every line
 * ends with a newline.
 */
export function startBanner(
  dataRoot: string,
  nodes: readonly BannerNode[],
  credentials: AccessCredentials | undefined,
): string {
  const first = nodes[0];
  if (first === undefined) throw new Error('a cluster has at least one node');
  const security =
    credentials === undefined
      ? 'plaintext on 127.0.0.1, for development only; a node takes TLS with --peer-tls-* and --client-tls-* (README, "Running a node"), and `npm start -- --secure` runs this cluster with them'
      : `TLS on every port: mutual TLS between peers; clients must present a certificate signed by ${credentials.caFile} (below: the admin certificate, every role and scope)`;
  const table = nodes.map(
    (n) =>
      `  ${n.id.padEnd(4)}  ${n.peerAddress.padEnd(18)}  ${n.clientAddress.padEnd(18)}  ${n.grpcAddress.padEnd(18)}  ${n.logFile}`,
  );
  const scheme = credentials === undefined ? 'http' : 'https';
  const curl =
    credentials === undefined
      ? 'curl'
      : `curl --cacert ${shellWord(credentials.caFile)} --cert ${shellWord(credentials.certFile)} --key ${shellWord(credentials.keyFile)}`;
  const cliTls =
    credentials === undefined
      ? ''
      : ` --cacert ${shellWord(credentials.caFile)} --cert ${shellWord(credentials.certFile)} --key ${shellWord(credentials.keyFile)}`;
  const base = `${scheme}://${first.clientAddress}`;
  const endpoints = nodes.map((n) => n.grpcAddress).join(',');
  return [
    `OmniRelay local cluster: ${nodes.length} node(s), data under ${dataRoot}`,
    security,
    '',
    '  node  peer (gRPC)          client HTTP         client gRPC         log',
    ...table,
    '',
    `  status:  ${curl} ${base}/status`,
    `  leaders: ${curl} ${base}/control/leaders`,
    `  acquire: ${curl} -X POST ${base}/leadership/acquire -d '${ACQUIRE_EXAMPLE_BODY}'`,
    `  cli:     npx omnirelay --endpoints ${endpoints}${cliTls} mesh leaders status  # --watch follows changes`,
    '',
    '',
  ].join('\n');
}

/** shellWord is `text` as one POSIX shell word: as is when it is safe, else single-quoted. */
export function shellWord(text: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
