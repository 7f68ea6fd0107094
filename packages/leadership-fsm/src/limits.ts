/**
 * Every bound of the leadership state machine, as a named constant (STYLE.md: a bound on
 * everything). A command that exceeds one is refused with a typed error result that names the
 * bound; nothing is truncated silently.
 */

/** SCOPE_NAME_BYTES_MAX is the longest scope name, in bytes (a DNS name's limit, so names fit in labels and URLs). */
export const SCOPE_NAME_BYTES_MAX = 253;

/** CANDIDATE_ID_BYTES_MAX is the longest candidate id, in bytes. */
export const CANDIDATE_ID_BYTES_MAX = 128;

/**
 * SESSION_ID_BYTES_MAX is the longest client session id, in bytes: room for a UUID or 32 hex
 * digits with a prefix, small enough that a lease record stays small.
 */
export const SESSION_ID_BYTES_MAX = 64;

/** CORRELATION_ID_BYTES_MAX is the longest correlation id a command may carry, in bytes. */
export const CORRELATION_ID_BYTES_MAX = 128;

/** PROPOSER_ID_BYTES_MAX is the longest Raft node id the runtime may pass as an entry's proposer. */
export const PROPOSER_ID_BYTES_MAX = 128;

/** PRINCIPAL_BYTES_MAX is the longest caller identity the runtime may pass as an entry's principal. */
export const PRINCIPAL_BYTES_MAX = 256;

/** METADATA_BYTES_MAX is the largest holder/candidate metadata string, in UTF-8 bytes. */
export const METADATA_BYTES_MAX = 1024;

/** LEASE_TTL_MS_MIN is the shortest lease a candidate may ask for, in milliseconds. */
export const LEASE_TTL_MS_MIN = 500;

/** LEASE_TTL_MS_MAX is the longest lease a candidate may ask for, in milliseconds (one hour). */
export const LEASE_TTL_MS_MAX = 3_600_000;

/** GRACE_MS_MAX is the longest grace a new Raft leader may give live leases, in milliseconds. */
export const GRACE_MS_MAX = 60_000;

/** RENEW_BATCH_MAX is the most leases one Renew command may list. */
export const RENEW_BATCH_MAX = 4096;

/** EXPIRE_BATCH_MAX is the most leases one Expire command may list. */
export const EXPIRE_BATCH_MAX = 4096;

/**
 * LEASE_BATCH_BYTES_MAX is the most bytes the lease list of one Renew or Expire command may take
 * (the sum of `leaseRefBytesMax` over its leases). Counted leases alone do not bound an entry:
 * 4,096 leases with 253-byte scope names encode to more than COMMAND_BYTES_MAX. The 128 KiB left
 * below COMMAND_BYTES_MAX cover the command's other fields (type, a correlation id of at most
 * CORRELATION_ID_BYTES_MAX) and the runtime's envelope around it (stamp, proposer id, transport).
 */
export const LEASE_BATCH_BYTES_MAX = 896 * 1024;

/**
 * LEASE_REF_OVERHEAD_BYTES bounds what one lease of a Renew or Expire list encodes to besides its
 * scope name's UTF-8 bytes: the map header, the two field names, the longest string header and a
 * 64-bit fence token.
 */
export const LEASE_REF_OVERHEAD_BYTES = 34;

/** QUEUE_LENGTH_MAX is the most candidates that may wait for one scope. */
export const QUEUE_LENGTH_MAX = 1024;

/** SCOPE_COUNT_MAX is the most scopes the state machine keeps (held, vacant or with waiters). */
export const SCOPE_COUNT_MAX = 1_000_000;

/** LIST_PAGE_SIZE_MAX is the largest page `listHolders` returns; larger requests are refused. */
export const LIST_PAGE_SIZE_MAX = 1000;

/** LIST_PAGE_SIZE_DEFAULT is the page size `listHolders` uses when none is asked for. */
export const LIST_PAGE_SIZE_DEFAULT = 100;

/** DUE_LEASES_MAX is the most leases one `expiredLeases` call returns (one Expire batch). */
export const DUE_LEASES_MAX = EXPIRE_BATCH_MAX;

/**
 * DEADLINE_INDEX_MOVES_MAX is the most moves (a lazy slot re-keyed, a stale one dropped, a
 * bucket's reference read) one `nextDeadline` or `expiredLeases` call spends catching the
 * deadline index up: after a grace that extended 87,000 of 100,000 leases, catching up in one
 * call took the leader 0.4 s and more. A call that runs out answers a lower bound
 * (`nextDeadline`) or the due leases found so far (`expiredLeases`), and the next call goes on.
 * 4,096 moves take a few milliseconds. (`nextDeadline` reads the buckets it needs whole.)
 */
export const DEADLINE_INDEX_MOVES_MAX = 4096;

/**
 * DEADLINE_INDEX_BUCKET_MS is the width of the deadline index's buckets: its heap holds only the
 * slots whose keys fall before the end of the latest bucket it took in (the next few tens of
 * milliseconds of deadlines), and every later slot waits in the bucket of its key, filed by one
 * append. At 100,000 leases renewed every few seconds about 12,000 renewed leases a second reach
 * their old deadline and move on to their new one: in a heap of all the leases each move was a
 * sift through 8–9 levels of arrays that a busy leader's other work had evicted from the caches;
 * now it is a sift through a heap of a few hundred slots and an append. Wider buckets make that
 * heap larger; narrower ones make the leader take in a bucket more often (and wake its expiry
 * timer once per bucket while the heap is empty). Widths of 2–64 ms measured alike.
 */
export const DEADLINE_INDEX_BUCKET_MS = 32;

/** COMMAND_BYTES_MAX is the largest encoded command the state machine will decode. */
export const COMMAND_BYTES_MAX = 1024 * 1024;

/** PRIORITY_MIN is the lowest campaign priority (signed 32-bit). */
export const PRIORITY_MIN = -2_147_483_648;

/** PRIORITY_MAX is the highest campaign priority (signed 32-bit). */
export const PRIORITY_MAX = 2_147_483_647;

/** STAMP_MS_MAX is the largest entry stamp the state machine accepts: any safe integer of milliseconds. */
export const STAMP_MS_MAX = Number.MAX_SAFE_INTEGER - LEASE_TTL_MS_MAX - GRACE_MS_MAX;

/**
 * SNAPSHOT_SLICE_SCOPES is how many scopes one `SnapshotCapture.encodeSlice` encodes by default:
 * about 2 ms of work, so a runtime that yields between slices keeps its timers (Raft
 * heartbeats) on time while it snapshots 100,000 leases.
 */
export const SNAPSHOT_SLICE_SCOPES = 2048;

/**
 * SNAPSHOT_JOIN_BYTES is how many bytes one `SnapshotCapture.encodeSlice` copies into the
 * snapshot once every scope is encoded. The copy lands in fresh memory, and the first touch of
 * each page is what costs: joining the 8.7 MiB of 100,000 leases in one call took 24–60 ms on this
 * project's 2-core VM; 1 MiB per call is about 3 ms.
 */
export const SNAPSHOT_JOIN_BYTES = 1 << 20;

/** CLUSTER_ID_BYTES_MAX is the longest cluster id of a cluster descriptor, in bytes. */
export const CLUSTER_ID_BYTES_MAX = 64;

/** REGION_BYTES_MAX is the longest region name of a cluster descriptor, in bytes. */
export const REGION_BYTES_MAX = 64;

/** CLUSTER_ENDPOINTS_MAX is the most replication endpoints one cluster descriptor lists. */
export const CLUSTER_ENDPOINTS_MAX = 16;

/** ENDPOINT_BYTES_MAX is the longest replication endpoint (`host:port` or a URL), in bytes. */
export const ENDPOINT_BYTES_MAX = 256;

/** CLUSTER_REASON_BYTES_MAX is the longest reason an operator may give for a descriptor change, in UTF-8 bytes. */
export const CLUSTER_REASON_BYTES_MAX = 512;

/** PEER_CLUSTERS_MAX is the most peer cluster descriptors the state machine keeps besides its own. */
export const PEER_CLUSTERS_MAX = 16;

/**
 * MIRROR_CHANGES_MAX is the most scope changes one Mirror command carries: a replicator folds the
 * active cluster's events into entries of at most this many. A change is one scope's holder as of
 * the source revision: at most about 1,500 bytes (a 253-byte scope, a 128-byte candidate id,
 * 1,024 bytes of metadata and the numbers), so a full command stays under COMMAND_BYTES_MAX.
 */
export const MIRROR_CHANGES_MAX = 512;

/**
 * FAILOVER_HISTORY_MAX is how many failover records (descriptor changes and the steps of a
 * failover workflow) a cluster keeps, the last ones: an operator's record of recent failovers,
 * replicated and in every snapshot, so bounded.
 */
export const FAILOVER_HISTORY_MAX = 256;

/** FAILOVER_DETAIL_BYTES_MAX is the longest detail of one failover step, in UTF-8 bytes. */
export const FAILOVER_DETAIL_BYTES_MAX = 1_024;
