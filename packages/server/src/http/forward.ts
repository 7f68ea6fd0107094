import { Agent, request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import type { Credentials } from '../auth/access-control';
import { forwardedCredentials } from '../auth/access-control';
import { FORWARDED_BY_HEADER } from '../leadership/request-origin';

/** FORWARDED_TO_HEADER tells the client which node actually served a forwarded request. */
export const FORWARDED_TO_HEADER = 'x-omnirelay-forwarded-to';
/** FORWARD_TIMEOUT_MS bounds a forwarded request (above the default 5 s proposal deadline). */
export const FORWARD_TIMEOUT_MS = 10_000;

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** isForwarded tells whether a request already came through another node. */
export function isForwarded(req: IncomingMessage): boolean {
  return req.headers[FORWARDED_BY_HEADER] !== undefined;
}

/**
 * SecureForward is how to reach a leader whose client port speaks TLS: the HTTPS agent (CA and
 * this node's certificate) and the check of the leader's certificate.
 */
export interface SecureForward {
  readonly agent: HttpsAgent;
  readonly checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * forwardToLeader replays a request (same method, path, query and JSON body) on the leader's
 * client port and copies its answer back, so a request that landed on a follower still succeeds
 * (DESIGN.md "Clients talk to the leader"). It resolves false, having sent nothing, when the
 * leader cannot be reached; the caller then answers NOT_LEADER itself. With `secure`, it goes
 * over HTTPS (HTTP/1.1 over TLS). The caller's `credentials` go along (forwardedCredentials), so
 * the leader authorizes the caller, never this node.
 */
export function forwardToLeader(
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  leader: { id: string; address: string },
  selfId: string,
  credentials: Credentials,
  secure?: SecureForward,
): Promise<boolean> {
  const i = leader.address.lastIndexOf(':');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<boolean>((resolve) => {
    const headers: Record<string, string | number> = {
      [FORWARDED_BY_HEADER]: selfId,
      ...forwardedCredentials(credentials),
    };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const target = {
      host: leader.address.slice(0, i),
      port: Number(leader.address.slice(i + 1)),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      timeout: FORWARD_TIMEOUT_MS,
    };
    const onAnswer = (answer: IncomingMessage): void => {
      res.writeHead(answer.statusCode ?? 502, {
        'content-type': answer.headers['content-type'] ?? 'application/json',
        [FORWARDED_TO_HEADER]: leader.id,
      });
      answer.pipe(res);
      answer.on('end', () => resolve(true));
      answer.on('error', () => resolve(true));
    };
    const out =
      secure === undefined
        ? request({ ...target, agent }, onAnswer)
        : httpsRequest(
            { ...target, agent: secure.agent, checkServerIdentity: secure.checkServerIdentity },
            onAnswer,
          );
    out.on('timeout', () => out.destroy(new Error('timeout')));
    out.on('error', () => {
      if (!res.headersSent) resolve(false);
    });
    out.end(payload);
  });
}
