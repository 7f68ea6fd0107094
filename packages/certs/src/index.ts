/**
 * @omnirelay/certs: the cluster's certificates. `issueCa`, `issueNode` and `issueClient` make a
 * CA and issue node and client certificates into a folder (what `omnirelay cert issue` runs and
 * `npm start -- --secure` uses); `identityFromUris` reads the identity a certificate proves back.
 * Nothing here opens a socket: servers and clients read the files it writes.
 */
export { CA_CERT_FILE, CA_KEY_FILE, loadCa } from './ca';
export type { LoadedCa } from './ca';
export { CERT_ERROR_CODES, CertError, isCertError } from './cert-error';
export type { CertErrorCode } from './cert-error';
export { CERT_FILE_MODE, KEY_FILE_MODE, OUT_DIR_MODE, writeFileAtomic } from './cert-files';
export {
  CA_NAME_LENGTH_MAX,
  CLUSTER_ID_LENGTH_MAX,
  DNS_NAME_LENGTH_MAX,
  NAME_LENGTH_MAX,
  SAN_ENTRIES_MAX,
  SCOPE_PREFIXES_MAX,
  SCOPE_PREFIX_ANY,
  SCOPE_PREFIX_LENGTH_MAX,
  checkName,
  checkRoles,
  checkScopePrefixes,
} from './cert-inputs';
export {
  CLIENT_ROLES,
  ROLE_URI_PREFIX,
  SCOPE_PREFIX_URI_PREFIX,
  SPIFFE_SCHEME,
  identityFromUris,
  identityUri,
  roleUri,
  scopePrefixUri,
} from './identity';
export type { CertIdentity, ClientRole, IdentityKind } from './identity';
export { NODE_DNS_DEFAULT, NODE_IPS_DEFAULT, ORGANIZATION, issueCa, issueClient, issueNode } from './issue';
export type {
  IssueCaOptions,
  IssueClientOptions,
  IssueCommonOptions,
  IssueNodeOptions,
  IssuedFiles,
} from './issue';
export { keyModeProblem, leafProblem, validityProblem } from './reusable';
export type { ExpectedLeaf } from './reusable';
export { CA_DAYS_DEFAULT, DAYS_MAX, LEAF_DAYS_DEFAULT, NOT_BEFORE_BACKDATE_MS } from './validity';
export type { ValidityOptions } from './validity';
