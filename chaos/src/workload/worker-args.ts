import { parseOptions } from './command-line';

/** WorkerMode picks how a worker takes scopes: by `campaign`, by `acquire`, or a seeded mix. */
export type WorkerMode = 'mixed' | 'campaign' | 'acquire';

/** WORKER_DURATION_MS_MAX bounds a worker's run (an hour: the long suite's longest scenario is shorter). */
export const WORKER_DURATION_MS_MAX = 3_600_000;
/** WORKER_TTL_MS_MIN and WORKER_TTL_MS_MAX are the cluster's lease TTL bounds. */
export const WORKER_TTL_MS_MIN = 500;
export const WORKER_TTL_MS_MAX = 3_600_000;
/** WORKER_SCOPES_MAX bounds how many scopes one worker may be given. */
export const WORKER_SCOPES_MAX = 100;

/** WorkerArgs are a chaos worker's command-line options (worker.ts). */
export interface WorkerArgs {
  /** id is the candidate id and the history's process name prefix. */
  readonly id: string;
  readonly endpoints: readonly string[];
  readonly scopes: readonly string[];
  /** store is the fenced store's base URL (http://host:port). */
  readonly store: string;
  /** out is the run folder: the history goes to `<out>/client-<id>.jsonl`. */
  readonly out: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly ttlMs: number;
  readonly tokenFile: string | undefined;
  readonly mode: WorkerMode;
  /**
   * stopBeforeWriteAtMs, when set, makes the worker stop itself with SIGSTOP once, this long
   * after it starts, right after a lease check passed and before the write it allowed: the
   * paused holder of issue 17 at the worst moment (the harness or test resumes it with SIGCONT).
   */
  readonly stopBeforeWriteAtMs: number | undefined;
  /**
   * historyClock is where history times come from: `hrtime` (process.hrtime.bigint()), or
   * `kernel` (KernelClock, /proc/timer_list) for a worker run on a faked monotonic clock.
   */
  readonly historyClock: 'hrtime' | 'kernel';
}

/** WORKER_USAGE is the worker's command line. */
export const WORKER_USAGE =
  'usage: worker.ts --id w1 --endpoints h:p,h:p --scopes a,b --store http://127.0.0.1:<port> --out <dir> --seed N --duration-ms N --ttl-ms N [--token-file F] [--mode mixed|campaign|acquire] [--stop-before-write-at-ms N] [--history-clock hrtime|kernel]';

function integer(text: string | undefined, name: string, min: number, max: number): number | string {
  if (text === undefined) return `--${name} is required`;
  if (!/^\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max) {
    return `--${name} must be an integer from ${min} to ${max}, got ${text}`;
  }
  return Number(text);
}

function list(text: string | undefined, name: string, max: number): string[] | string {
  const items = (text ?? '').split(',').filter((s) => s !== '');
  if (items.length === 0) return `--${name} is required (a comma-separated list)`;
  if (items.length > max) return `--${name} lists ${items.length}, at most ${max}`;
  return items;
}

/** parseWorkerArgs reads a worker's arguments, or returns a message naming the bad one. */
export function parseWorkerArgs(argv: readonly string[]): WorkerArgs | string {
  const values = parseOptions(
    argv,
    {
      id: { type: 'string' },
      endpoints: { type: 'string' },
      scopes: { type: 'string' },
      store: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      'duration-ms': { type: 'string' },
      'ttl-ms': { type: 'string' },
      'token-file': { type: 'string' },
      mode: { type: 'string', default: 'mixed' },
      'stop-before-write-at-ms': { type: 'string' },
      'history-clock': { type: 'string', default: 'hrtime' },
    },
    WORKER_USAGE,
  );
  if (typeof values === 'string') return values;
  const id = values.id ?? '';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
    return `--id must be 1 to 64 of [A-Za-z0-9._-], got ${JSON.stringify(id)}`;
  const endpoints = list(values.endpoints, 'endpoints', 15);
  if (typeof endpoints === 'string') return endpoints;
  const bad = endpoints.find((e) => !/^[^\s:]+:\d{1,5}$/.test(e));
  if (bad !== undefined) return `--endpoints must be host:port items, got ${bad}`;
  const scopes = list(values.scopes, 'scopes', WORKER_SCOPES_MAX);
  if (typeof scopes === 'string') return scopes;
  if (values.store === undefined || !/^https?:\/\/[^\s/]+$/.test(values.store)) {
    return `--store must be the store's base URL (http://host:port), got ${values.store ?? 'nothing'}`;
  }
  if (values.out === undefined || values.out === '') return '--out is required (the run folder)';
  const seed = integer(values.seed, 'seed', 0, 0xffffffff);
  const durationMs = integer(values['duration-ms'], 'duration-ms', 1, WORKER_DURATION_MS_MAX);
  const ttlMs = integer(values['ttl-ms'], 'ttl-ms', WORKER_TTL_MS_MIN, WORKER_TTL_MS_MAX);
  const stopText = values['stop-before-write-at-ms'];
  const stopAt =
    stopText === undefined
      ? undefined
      : integer(stopText, 'stop-before-write-at-ms', 0, WORKER_DURATION_MS_MAX);
  for (const v of [seed, durationMs, ttlMs, stopAt]) if (typeof v === 'string') return v;
  const mode = values.mode;
  if (mode !== 'mixed' && mode !== 'campaign' && mode !== 'acquire') {
    return `--mode must be mixed, campaign or acquire, got ${mode}`;
  }
  const historyClock = values['history-clock'];
  if (historyClock !== 'hrtime' && historyClock !== 'kernel') {
    return `--history-clock must be hrtime or kernel, got ${historyClock}`;
  }
  return {
    id,
    endpoints,
    scopes,
    store: values.store,
    out: values.out,
    seed: seed as number,
    durationMs: durationMs as number,
    ttlMs: ttlMs as number,
    tokenFile: values['token-file'],
    mode,
    stopBeforeWriteAtMs: stopAt as number | undefined,
    historyClock,
  };
}
