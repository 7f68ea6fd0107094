// scale-members.js: the chart's scaling hooks, one change at a time, in the image's Node.js 20
// (no dependencies).
// - OMNIRELAY_SCALE_DIRECTION=remove, the pre-upgrade hook: before the StatefulSet drops pods
//   (replicas lowered), it removes those members from the Raft configuration, highest ordinal
//   first, handing leadership away first when the leader is among them. Never a preStop hook: a
//   restart must not become a removal.
// - OMNIRELAY_SCALE_DIRECTION=add, the post-upgrade hook: once the StatefulSet has the new pods
//   (waiting under --initial-cluster-state existing), it adds each ordinal below the new count
//   that is not a member yet, lowest first, as a learner with its addresses, waits until the
//   leader sees it caught up, then promotes it. A learner a failed run left behind is resumed.
// Environment: OMNIRELAY_SCALE_URL (a member's HTTP(S) base URL, the client Service),
// OMNIRELAY_SCALE_MEMBER_PREFIX ("<fullname>-"), OMNIRELAY_SCALE_REPLICAS (the member count after
// the upgrade), OMNIRELAY_SCALE_TOKEN_FILE (a mesh.admin token), OMNIRELAY_SCALE_CA_FILE
// (optional: TLS); for add also OMNIRELAY_SCALE_MEMBERS_PEER, _HTTP and _GRPC ("id=host:port,..."
// for every member) and OMNIRELAY_SCALE_CATCH_UP_TIMEOUT_MS.
'use strict';
const { readFileSync } = require('node:fs');
const http = require('node:http');
const https = require('node:https');

/** CALL_TIMEOUT_MS bounds one HTTP call; each membership change answers once applied. */
const CALL_TIMEOUT_MS = 15000;
/**
 * CATCH_UP_LAG_ENTRIES_MAX: a new member counts as caught up once the leader knows it holds an
 * entry (match > 0) and it is at most this many entries behind: the bound of the CLI's --wait
 * (packages/cli/src/wait-membership.ts) and of the Raft core's promotion.
 */
const CATCH_UP_LAG_ENTRIES_MAX = 1000;
/** POLL_MS is how often a wait asks the leader again. */
const POLL_MS = 500;
/** PROGRESS_MS: a wait prints at most one progress line per this many ms. */
const PROGRESS_MS = 5000;
/** REFUSED_STATUSES end a wait at once: bad input or a token without mesh.admin. */
const REFUSED_STATUSES = new Set([400, 401, 403, 404]);

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const direction = env('OMNIRELAY_SCALE_DIRECTION');
if (direction !== 'add' && direction !== 'remove')
  throw new Error(`OMNIRELAY_SCALE_DIRECTION must be add or remove, not ${direction}`);
const base = new URL(env('OMNIRELAY_SCALE_URL'));
const prefix = env('OMNIRELAY_SCALE_MEMBER_PREFIX');
const replicas = Number(env('OMNIRELAY_SCALE_REPLICAS'));
if (!Number.isInteger(replicas) || replicas < 1)
  throw new Error(`OMNIRELAY_SCALE_REPLICAS must be a positive integer`);
const token = readFileSync(env('OMNIRELAY_SCALE_TOKEN_FILE'), 'utf8').split('\n')[0].trim();
const caFile = process.env.OMNIRELAY_SCALE_CA_FILE;
const ca = caFile ? readFileSync(caFile) : undefined;

/** HttpError is a call answered with a status other than 200. */
class HttpError extends Error {
  constructor(method, path, status, text) {
    const hint =
      status === 401 || status === 403
        ? ` (scaling.tokenSecret must hold a token with mesh.admin: omnirelay token create --role mesh.admin)`
        : '';
    super(`${method} ${path}: ${status} ${text}${hint}`);
    this.status = status;
  }
}

/** call sends `method path` (JSON `body` when given) to `target` (default: the client Service). */
function call(method, path, body, target = base) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const transport = target.protocol === 'https:' ? https : http;
    const req = transport.request(
      new URL(path, target),
      {
        method,
        agent: false,
        timeout: CALL_TIMEOUT_MS,
        ...(ca === undefined ? {} : { ca }),
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new HttpError(method, path, res.statusCode, text));
          else resolve(JSON.parse(text));
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${path}: no answer within ${CALL_TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function say(line) {
  process.stdout.write(`scale-members: ${line}\n`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** ordinalOf is the StatefulSet ordinal of member `id`, or -1 for a member this release did not name. */
function ordinalOf(id) {
  if (!id.startsWith(prefix)) return -1;
  const rest = id.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : -1;
}

/** removeMembers is the scale-down: every member with an ordinal >= replicas leaves, highest first. */
async function removeMembers() {
  const { leader, members } = await call('GET', '/cluster/members');
  const leaving = members
    .map((m) => m.id)
    .filter((id) => ordinalOf(id) >= replicas)
    .sort((a, b) => ordinalOf(b) - ordinalOf(a));
  if (leaving.length === 0) {
    say(`no member beyond ordinal ${replicas - 1}; nothing to remove`);
    return;
  }
  if (leaving.includes(leader)) {
    const staying = members.filter((m) => m.voter && ordinalOf(m.id) >= 0 && ordinalOf(m.id) < replicas);
    if (staying.length === 0) throw new Error('no voter would remain: refusing to remove every member');
    const to = staying.sort((a, b) => ordinalOf(a.id) - ordinalOf(b.id))[0].id;
    say(`leader ${leader} is leaving; transferring leadership to ${to}`);
    await call('POST', '/cluster/transfer-leader', { to });
  }
  for (const id of leaving) {
    say(`removing ${id}`);
    await call('POST', '/cluster/remove', { id });
  }
  say(`removed ${leaving.join(', ')}`);
}

/** memberAddresses parses "id=host:port,..." into a map from id to host:port. */
function memberAddresses(name) {
  const addresses = new Map();
  for (const entry of env(name).split(',')) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`${name}: ${JSON.stringify(entry)} is not id=host:port`);
    addresses.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return addresses;
}

/**
 * leaderView is GET /cluster/members answered by the Raft leader itself (only the leader knows
 * each member's replication progress): asked through the Service, then, when a follower answered,
 * at the leader's own client address. Undefined while no leader answers (an election, a restart);
 * a refusal (401, 403) throws.
 */
async function leaderView(clientAddresses) {
  try {
    const view = await call('GET', '/cluster/members');
    if (view.nodeId === view.leader) return view;
    const address = clientAddresses.get(view.leader);
    if (address === undefined) return undefined;
    const direct = await call('GET', '/cluster/members', undefined, new URL(`${base.protocol}//${address}`));
    return direct.nodeId === direct.leader ? direct : undefined;
  } catch (e) {
    if (e instanceof HttpError && REFUSED_STATUSES.has(e.status)) throw e;
    return undefined;
  }
}

/**
 * leaderMembers is the configuration as the leader has it (a follower's may lag a change behind),
 * waiting at most `timeoutMs` for a leader to answer.
 */
async function leaderMembers(clientAddresses, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await leaderView(clientAddresses);
    if (view !== undefined) return view.members;
    if (Date.now() + POLL_MS > deadline)
      throw new Error(
        `no Raft leader answered within ${timeoutMs} ms: check that a quorum of the members runs (kubectl get pods), then run helm upgrade again`,
      );
    await sleep(POLL_MS);
  }
}

/**
 * promoteWhenCaughtUp waits, at most `timeoutMs`, until the leader sees learner `id` caught up
 * (match > 0, lag <= CATCH_UP_LAG_ENTRIES_MAX), then promotes it, printing progress meanwhile.
 */
async function promoteWhenCaughtUp(id, clientAddresses, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no leader answered yet';
  let lastProgressAt = Date.now();
  for (;;) {
    const view = await leaderView(clientAddresses);
    const member = view?.members.find((m) => m.id === id);
    if (view !== undefined && member === undefined)
      throw new Error(
        `${id} is no longer a member (the leader ${view.leader} does not list it): someone removed it`,
      );
    if (member?.voter === true) return;
    if (member !== undefined) {
      last = `match ${Math.max(member.match, 0)}, ${member.lagEntries < 0 ? '?' : member.lagEntries} entries behind`;
      if (member.match > 0 && member.lagEntries <= CATCH_UP_LAG_ENTRIES_MAX) {
        try {
          await call('POST', '/cluster/promote', { id });
          return;
        } catch (e) {
          if (e instanceof HttpError && REFUSED_STATUSES.has(e.status)) throw e;
          last = `promotion refused: ${e instanceof Error ? e.message : String(e)}`;
        }
      }
    }
    if (Date.now() + POLL_MS > deadline) {
      throw new Error(
        `${id} did not catch up within ${timeoutMs} ms (${last}); it stays a learner, which counts for no quorum. ` +
          `Check that pod ${id} runs and reaches its peers (kubectl logs ${id}), then run helm upgrade again ` +
          `(the hook resumes with ${id}), or take it out: POST /cluster/remove {"id":"${id}"}`,
      );
    }
    if (Date.now() - lastProgressAt >= PROGRESS_MS) {
      lastProgressAt = Date.now();
      say(`waiting for ${id} to catch up: ${last}`);
    }
    await sleep(POLL_MS);
  }
}

/** addMembers is the scale-up: each ordinal below replicas that is no voter joins, lowest first. */
async function addMembers() {
  const peers = memberAddresses('OMNIRELAY_SCALE_MEMBERS_PEER');
  const clients = memberAddresses('OMNIRELAY_SCALE_MEMBERS_HTTP');
  const grpc = memberAddresses('OMNIRELAY_SCALE_MEMBERS_GRPC');
  const timeoutMs = Number(env('OMNIRELAY_SCALE_CATCH_UP_TIMEOUT_MS'));
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new Error('OMNIRELAY_SCALE_CATCH_UP_TIMEOUT_MS must be a positive integer');
  const members = await leaderMembers(clients, timeoutMs);
  const wanted = Array.from({ length: replicas }, (_, i) => `${prefix}${i}`);
  const joining = wanted.filter((id) => members.find((m) => m.id === id)?.voter !== true);
  if (joining.length === 0) {
    say(`all ${replicas} members are voters; nothing to add`);
    return;
  }
  for (const id of joining) {
    if (members.some((m) => m.id === id)) {
      say(`${id} is a learner already (an earlier run); waiting for it to catch up`);
    } else {
      const [peerAddress, clientAddress, grpcAddress] = [peers, clients, grpc].map((list) => list.get(id));
      if (peerAddress === undefined || clientAddress === undefined || grpcAddress === undefined)
        throw new Error(`the member lists name no addresses for ${id}`);
      say(`adding ${id} as a learner (peer ${peerAddress})`);
      await call('POST', '/cluster/add-learner', { id, peerAddress, clientAddress, grpcAddress });
    }
    await promoteWhenCaughtUp(id, clients, timeoutMs);
    say(`promoted ${id} to voter`);
  }
  say(`added ${joining.join(', ')}`);
}

(direction === 'add' ? addMembers() : removeMembers()).catch((e) => {
  process.stderr.write(
    `scale-members: ${e instanceof Error ? e.message : String(e)}; nothing after this was changed\n`,
  );
  process.exit(1);
});
