import type * as grpc from '@grpc/grpc-js';
import type { MirrorChange, MirrorCommand } from '@omnirelay/leadership-fsm';
import { LIST_PAGE_SIZE_MAX } from '@omnirelay/leadership-fsm';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { loadPublicApi } from '../grpc/proto';
import type { ReplicationCredentialFiles } from './replication-credentials';
import { replicationChannel } from './replication-credentials';
import { revisionCut } from './revision-cut';
import type { WireHolder } from './wire-holder';
import { mirrorHolderOf } from './wire-holder';

/** RESYNC_CALL_TIMEOUT_MS bounds each call of a resynchronisation (status, one page of holders). */
export const RESYNC_CALL_TIMEOUT_MS = 10_000;

/** RESYNC_PAGES_MAX bounds the pages of holders one resynchronisation reads (1,000 scopes each). */
export const RESYNC_PAGES_MAX = 1_000;

/** WireLease is a listed lease: the holder the mirror keeps, its scope and its grant revision. */
interface WireLease extends WireHolder {
  readonly scope: string;
  readonly revision: string;
}

function unary<T>(client: grpc.Client, method: string, request: object, metadata: grpc.Metadata): Promise<T> {
  const fn = (client as unknown as Record<string, unknown>)[method] as (
    request: object,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: T) => void,
  ) => void;
  return new Promise((resolve, reject) =>
    fn.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + RESYNC_CALL_TIMEOUT_MS },
      (error, response) => (error === null ? resolve(response as T) : reject(error)),
    ),
  );
}

/**
 * resynchronise reads the active cluster's state when its watch history no longer reaches back to
 * the mirror's version vector (COMPACTED): the applied revision R of the node at `endpoint` first,
 * then every current holder from that same node (serializable, so at least as new as R). It
 * returns the mirror commands that replace the mirror with that listing: the first with `reset`,
 * cut at grant-revision boundaries in ascending order, each up to the highest grant revision it
 * holds, and the last up to R. The watch then resumes from R + 1 (events it replays that the
 * listing already shows re-apply to the same state). Vacant scopes are not listed: the mirror
 * forgets their last fences. While more than MIRROR_CHANGES_MAX holders are proposed, the mirror
 * is briefly partial.
 */
export async function resynchronise(
  endpoint: string,
  sourceClusterId: string,
  logger: Logger,
  credentials?: ReplicationCredentialFiles,
): Promise<MirrorCommand[]> {
  const api = loadPublicApi();
  const channel = replicationChannel(credentials);
  const cluster = new api.cluster.Client(endpoint, channel.credentials);
  const leadership = new api.leadership.Client(endpoint, channel.credentials);
  try {
    const status = await unary<{ applied: string }>(cluster, 'Status', {}, channel.metadata);
    const applied = Number(status.applied);
    const leases: WireLease[] = [];
    let pageToken = '';
    for (let page = 0; page < RESYNC_PAGES_MAX; page++) {
      const answer = await unary<{ leaders: WireLease[]; nextPageToken: string }>(
        leadership,
        'ListLeaders',
        {
          prefix: '',
          pageToken,
          limit: LIST_PAGE_SIZE_MAX,
          serializable: true,
        },
        channel.metadata,
      );
      leases.push(...answer.leaders);
      pageToken = answer.nextPageToken;
      if (pageToken === '') break;
    }
    if (pageToken !== '')
      throw new Error(`more than ${RESYNC_PAGES_MAX} pages of holders; the mirror cannot be rebuilt`);
    const changes: MirrorChange[] = leases
      .map((l) => ({
        scope: l.scope,
        revision: Number(l.revision),
        holder: mirrorHolderOf(l),
      }))
      .sort((x, y) => x.revision - y.revision);
    logger.info(
      { sourceClusterId, endpoint, applied, holders: changes.length },
      'replication: rebuilding the mirror from a listing',
    );
    return mirrorCommands(sourceClusterId, applied, changes);
  } finally {
    cluster.close();
    leadership.close();
  }
}

/**
 * mirrorCommands cuts `changes` (sorted by revision) into mirror commands by revisionCut, the first
 * with `reset`, each up to its highest revision and the last up to `applied`.
 */
export function mirrorCommands(
  sourceClusterId: string,
  applied: number,
  changes: readonly MirrorChange[],
): MirrorCommand[] {
  const commands: MirrorCommand[] = [];
  let start = 0;
  do {
    const end = revisionCut(changes, start);
    const part = changes.slice(start, end);
    const highest = part[part.length - 1]?.revision ?? 1;
    commands.push({
      type: 'mirror',
      correlationId: `mirror-resync-${randomUUID()}`,
      sourceClusterId,
      toRevision: end >= changes.length ? Math.max(applied, highest) : highest,
      sourceStampMs: 0,
      ...(start === 0 ? { reset: true } : {}),
      changes: part,
    });
    start = end;
  } while (start < changes.length);
  return commands;
}
