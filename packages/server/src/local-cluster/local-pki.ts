import { join } from 'node:path';
import type { LoadedCa } from '@omnirelay/certs';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CLIENT_ROLES,
  SCOPE_PREFIX_ANY,
  isCertError,
  issueCa,
  issueClient,
  issueNode,
  keyModeProblem,
  leafProblem,
  loadCa,
  validityProblem,
} from '@omnirelay/certs';
import type { ExpectedLeaf } from '@omnirelay/certs';

/** LOCAL_PKI_DIR is the folder, under a local cluster's data root, that holds its CA and certificates. */
export const LOCAL_PKI_DIR = 'pki';

/** ADMIN_CLIENT_NAME is the identity of the operator's client certificate (`admin.crt`, `admin.key`). */
export const ADMIN_CLIENT_NAME = 'admin';

/**
 * ADMIN_SCOPE_PREFIXES lets the operator campaign on every scope: a local cluster is for trying
 * things out, and the printed acquire line must work on any scope.
 */
export const ADMIN_SCOPE_PREFIXES: readonly string[] = [SCOPE_PREFIX_ANY];

/**
 * PKI_REMAINING_MS_MIN is how long a CA or certificate found on disk must stay valid to be reused:
 * one under a week from its end is reissued at start, so a cluster left running does not stop
 * verifying in the middle of a session.
 */
export const PKI_REMAINING_MS_MIN = 7 * 86_400_000;

/** CertFiles is a certificate and its private key, as absolute paths. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** LocalPki is a local cluster's CA, one certificate per node and the operator's client certificate. */
export interface LocalPki {
  /** dir holds every file below. */
  readonly dir: string;
  /** clusterId is the id every certificate names; the nodes must run with it. */
  readonly clusterId: string;
  /** caFile is the CA certificate: the peers' and the clients' trust anchor. */
  readonly caFile: string;
  /** nodes holds each node's certificate: peer mTLS and its client ports. */
  readonly nodes: ReadonlyMap<string, CertFiles>;
  /** admin is the operator's client certificate: every role, every scope. */
  readonly admin: CertFiles;
  /** issued says, per file made at this start, why (reused files are not listed). */
  readonly issued: readonly string[];
}

/** LocalPkiOptions say where the PKI lives and whom it serves. */
export interface LocalPkiOptions {
  readonly dir: string;
  readonly clusterId: string;
  readonly nodeIds: readonly string[];
  /** nowMs is the time the certificates must be valid at (default Date.now()). */
  readonly nowMs?: number;
}

/**
 * ensureLocalPki makes or reuses the PKI of a local cluster in `dir`: a CA (`ca.crt`, `ca.key`),
 * a node certificate per node id (`<id>.crt`, `<id>.key`, naming spiffe://<clusterId>/node/<id>,
 * localhost and 127.0.0.1) and the operator's client certificate (`admin.crt`, `admin.key`, roles
 * mesh.read, mesh.operate and mesh.admin, scope prefix `*`). Keys are mode 0600, the folder 0700.
 * What is on disk is reused when it still fits (leafProblem, PKI_REMAINING_MS_MIN); otherwise it
 * is issued again, and a new CA means every certificate is issued again. A failure is the
 * CertError of the step that failed.
 */
export async function ensureLocalPki(options: LocalPkiOptions): Promise<LocalPki> {
  const nowMs = options.nowMs ?? Date.now();
  const { dir, clusterId } = options;
  const issued: string[] = [];

  const found = await reusableCa(dir, nowMs);
  if (typeof found === 'string') {
    await issueCa({ outDir: dir, clusterId, overwrite: true });
    issued.push(`${join(dir, CA_CERT_FILE)}: a new CA (${found})`);
  }
  const ca = typeof found === 'string' ? await loadCa(dir) : found;

  const leaf = async (expected: ExpectedLeaf, issue: () => Promise<unknown>): Promise<CertFiles> => {
    const files = { certFile: join(dir, `${expected.name}.crt`), keyFile: join(dir, `${expected.name}.key`) };
    const paths = { certPath: files.certFile, keyPath: files.keyFile };
    const problem = await leafProblem(paths, ca, expected, nowMs, PKI_REMAINING_MS_MIN);
    if (problem !== undefined) {
      await issue();
      issued.push(`${files.certFile}: issued (${problem})`);
    }
    return files;
  };
  const common = { outDir: dir, caDir: dir, clusterId, overwrite: true } as const;

  const nodes = new Map<string, CertFiles>();
  for (const id of options.nodeIds) {
    nodes.set(id, await leaf({ kind: 'node', clusterId, name: id }, () => issueNode({ ...common, id })));
  }
  const adminExpected: ExpectedLeaf = {
    kind: 'client',
    clusterId,
    name: ADMIN_CLIENT_NAME,
    roles: CLIENT_ROLES,
    scopePrefixes: ADMIN_SCOPE_PREFIXES,
  };
  const admin = await leaf(adminExpected, () =>
    issueClient({
      ...common,
      name: ADMIN_CLIENT_NAME,
      roles: CLIENT_ROLES,
      scopePrefixes: ADMIN_SCOPE_PREFIXES,
    }),
  );
  return { dir, clusterId, caFile: join(dir, CA_CERT_FILE), nodes, admin, issued };
}

/**
 * reusableCa loads the CA in `dir`, or says why it cannot be used: missing, not a CA, its key
 * readable by others, not yet valid or expiring within PKI_REMAINING_MS_MIN.
 */
async function reusableCa(dir: string, nowMs: number): Promise<LoadedCa | string> {
  let ca: LoadedCa;
  try {
    ca = await loadCa(dir);
  } catch (e) {
    if (isCertError(e, 'NOT_FOUND')) return 'none was found';
    if (isCertError(e, 'INVALID_CA')) return e.message;
    throw e;
  }
  return (
    (await keyModeProblem(join(dir, CA_KEY_FILE))) ??
    validityProblem(ca.certificate, nowMs, PKI_REMAINING_MS_MIN) ??
    ca
  );
}
