import type { Requirement } from './access-control';
import type { Role } from './principal';

/**
 * The permission table of the client ports (DESIGN.md "Security", README "Access control"):
 * what every gRPC method and HTTP route needs when access control is on. Roles nest (mesh.admin
 * grants mesh.operate, which grants mesh.read); campaigning for a scope needs a granted scope
 * prefix that covers it, whatever the roles. A method or route not listed needs mesh.admin, the
 * most any caller can hold: forgetting to list a new one never opens it to everyone.
 */

const OPEN: Requirement = { kind: 'open' };
const AUTHENTICATED: Requirement = { kind: 'authenticated' };
const role = (r: Role): Requirement => ({ kind: 'role', role: r });
const READ = role('mesh.read');
const OPERATE = role('mesh.operate');
const ADMIN = role('mesh.admin');

/** scopeOf is a request's `scope` field ('' when it has none: no prefix covers it, so it is refused). */
function scopeOf(request: unknown): string {
  const scope = (request as { scope?: unknown } | null | undefined)?.scope;
  return typeof scope === 'string' ? scope : '';
}

const campaign = (request: unknown): Requirement => ({ kind: 'campaign', scope: scopeOf(request) });

/**
 * GRPC_REQUIREMENTS maps each method of proto/leadership.proto to what it needs, given its
 * decoded request. KeepAlive needs an authenticated caller to open; each lease it lists is then
 * checked against the caller's scope prefixes (grpc/keep-alive.ts).
 */
export const GRPC_REQUIREMENTS: Readonly<Record<string, (request: unknown) => Requirement>> = {
  Acquire: campaign,
  Campaign: campaign,
  Resign: campaign,
  KeepAlive: () => AUTHENTICATED,
  StepDown: () => OPERATE,
  GetLeader: () => READ,
  ListLeaders: () => READ,
  Watch: () => READ,
  WatchStream: () => READ,
  ValidateFence: () => READ,
  // Each call a client makes over it is checked as the call made directly (grpc/forward-stream.ts).
  Calls: () => OPEN,
  Status: () => READ,
  Members: () => READ,
  TransferLeadership: () => OPERATE,
  AddLearner: () => ADMIN,
  Promote: () => ADMIN,
  RemoveMember: () => ADMIN,
  Snapshot: () => ADMIN,
  Clusters: () => READ,
  SetCluster: () => ADMIN,
  RecordFailoverStep: () => ADMIN,
  // Each call a member forwards over it is checked as the caller it carries (grpc/forward-stream.ts).
  Forward: () => OPEN,
};

/** grpcRequirement is what gRPC method `method` needs for `request`. */
export function grpcRequirement(method: string, request: unknown): Requirement {
  return GRPC_REQUIREMENTS[method]?.(request) ?? ADMIN;
}

/** HTTP_FIXED maps each HTTP route (`METHOD /path`) whose need does not depend on its body to it. */
const HTTP_FIXED: Readonly<Record<string, Requirement>> = {
  'GET /healthz': OPEN,
  'GET /readyz': OPEN,
  'GET /status': READ,
  'GET /metrics': READ,
  'GET /control/leaders': READ,
  'GET /control/peers': READ,
  'GET /control/clusters': READ,
  'GET /control/mirror': READ,
  'POST /control/clusters': ADMIN,
  'POST /control/clusters/history': ADMIN,
  'GET /control/events/leadership': READ,
  'GET /cluster/members': READ,
  'POST /fence-token/validate': READ,
  'POST /leadership/stepdown': OPERATE,
  'POST /cluster/transfer-leader': OPERATE,
  'POST /cluster/add-learner': ADMIN,
  'POST /cluster/promote': ADMIN,
  'POST /cluster/remove': ADMIN,
  'GET /cluster/snapshot': ADMIN,
};

/**
 * httpRequirements is what HTTP route `route` (`METHOD /path`) needs for its JSON `body`: every
 * listed lease's scope for a renewal, the body's scope to acquire or resign, a role or nothing from
 * the table, and mesh.admin for anything else (/debug/*).
 */
export function httpRequirements(route: string, body: unknown): Requirement[] {
  const fixed = HTTP_FIXED[route];
  if (fixed !== undefined) return [fixed];
  if (route === 'POST /leadership/acquire' || route === 'POST /leadership/resign') return [campaign(body)];
  if (route === 'POST /leadership/renew') {
    const leases = (body as { leases?: unknown } | null | undefined)?.leases;
    return Array.isArray(leases) && leases.length > 0 ? leases.map(campaign) : [campaign(undefined)];
  }
  return [ADMIN];
}
