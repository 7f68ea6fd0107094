// scale-members.js: the chart's pre-upgrade hook. Before the StatefulSet drops pods (replicas
// lowered), it removes those members from the Raft configuration, highest ordinal first, one
// change at a time, handing leadership away first when the leader is among them. Never a preStop
// hook: a restart must not become a removal. Plain Node.js 20, no dependencies (runs in the image).
// Environment: OMNIRELAY_SCALE_URL (a member's HTTP(S) base URL), OMNIRELAY_SCALE_MEMBER_PREFIX
// ("<fullname>-"), OMNIRELAY_SCALE_REPLICAS (the member count after the upgrade),
// OMNIRELAY_SCALE_TOKEN_FILE (a mesh.admin token), OMNIRELAY_SCALE_CA_FILE (optional: TLS).
'use strict';
const { readFileSync } = require('node:fs');
const http = require('node:http');
const https = require('node:https');

/** CALL_TIMEOUT_MS bounds one HTTP call; each membership change answers once applied. */
const CALL_TIMEOUT_MS = 15000;

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const base = new URL(env('OMNIRELAY_SCALE_URL'));
const prefix = env('OMNIRELAY_SCALE_MEMBER_PREFIX');
const replicas = Number(env('OMNIRELAY_SCALE_REPLICAS'));
if (!Number.isInteger(replicas) || replicas < 1)
  throw new Error(`OMNIRELAY_SCALE_REPLICAS must be a positive integer`);
const token = readFileSync(env('OMNIRELAY_SCALE_TOKEN_FILE'), 'utf8').split('\n')[0].trim();
const caFile = process.env.OMNIRELAY_SCALE_CA_FILE;
const ca = caFile ? readFileSync(caFile) : undefined;

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const transport = base.protocol === 'https:' ? https : http;
    const req = transport.request(
      new URL(path, base),
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
          if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
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

/** ordinalOf is the StatefulSet ordinal of member `id`, or -1 for a member this release did not name. */
function ordinalOf(id) {
  if (!id.startsWith(prefix)) return -1;
  const rest = id.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : -1;
}

async function main() {
  const { leader, members } = await call('GET', '/cluster/members');
  const leaving = members
    .map((m) => m.id)
    .filter((id) => ordinalOf(id) >= replicas)
    .sort((a, b) => ordinalOf(b) - ordinalOf(a));
  if (leaving.length === 0) {
    process.stdout.write(`scale-members: no member beyond ordinal ${replicas - 1}; nothing to remove\n`);
    return;
  }
  if (leaving.includes(leader)) {
    const staying = members.filter((m) => m.voter && ordinalOf(m.id) >= 0 && ordinalOf(m.id) < replicas);
    if (staying.length === 0) throw new Error('no voter would remain: refusing to remove every member');
    const to = staying.sort((a, b) => ordinalOf(a.id) - ordinalOf(b.id))[0].id;
    process.stdout.write(`scale-members: leader ${leader} is leaving; transferring leadership to ${to}\n`);
    await call('POST', '/cluster/transfer-leader', { to });
  }
  for (const id of leaving) {
    process.stdout.write(`scale-members: removing ${id}\n`);
    await call('POST', '/cluster/remove', { id });
  }
  process.stdout.write(`scale-members: removed ${leaving.join(', ')}\n`);
}

main().catch((e) => {
  process.stderr.write(
    `scale-members: ${e instanceof Error ? e.message : String(e)}; nothing after this was changed\n`,
  );
  process.exit(1);
});
