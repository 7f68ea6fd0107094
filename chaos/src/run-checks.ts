import { checkFencedStore } from './checkers/fenced-store';
import { checkGrants } from './checkers/grants';
import type { LinearizabilityOptions } from './checkers/linearizability';
import { checkLinearizability } from './checkers/linearizability';
import { checkServerHolders } from './checkers/server-holders';
import type { SloExpectation, SloFigures } from './checkers/slo';
import { checkSlos, faultWindows, sloFigures } from './checkers/slo';
import { ChaosError } from './errors';
import { grantsFromEvents, grantsFromOperations } from './grants';
import type { AuditEvent, StoreRecord } from './history';
import { parseAuditEvents, parseClientHistory, parseStoreLog, parseTimeline } from './history';
import type { Operation } from './operations';
import { compareBigint, pairOperations } from './operations';
import type { CheckResult, Verdict } from './verdict';
import { combineVerdicts } from './verdict';

/** RunFile is one file of a run folder: its name (for `file:line` in messages) and text. */
export interface RunFile {
  readonly file: string;
  readonly text: string;
}

/**
 * RunFiles are the files of one chaos run (chaos/README.md, "Run folder"): client histories,
 * fenced store logs, the committed holder changes read back at the end, the fault timeline and
 * the expected SLOs.
 */
export interface RunFiles {
  readonly clients: readonly RunFile[];
  readonly stores: readonly RunFile[];
  readonly audit: RunFile | undefined;
  readonly timeline: RunFile | undefined;
  readonly sloExpectations: RunFile | undefined;
}

/** RunVerdict is the machine-readable answer for a run: the overall verdict and each checker's. */
export interface RunVerdict {
  readonly verdict: Verdict;
  readonly counts: {
    readonly operations: number;
    readonly storeWrites: number;
    readonly auditEvents: number | null;
    readonly faults: number;
  };
  readonly checkers: readonly CheckResult[];
  readonly sloFigures: readonly SloFigures[];
}

function missing(checker: string, what: string): CheckResult {
  return { checker, verdict: 'unknown', violations: [`nothing to check: the run has no ${what}`] };
}

const SLO_BOUNDS = ['failoverMsMax', 'regrantMsMax', 'availabilityMin', 'recoveryMsMax'] as const;

/** parseSloExpectations reads `slo.json`: a list of {fault, failoverMsMax?, regrantMsMax?, availabilityMin?, recoveryMsMax?}. */
export function parseSloExpectations(run: RunFile): SloExpectation[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.text);
  } catch {
    throw new ChaosError('INVALID_HISTORY', 'not valid JSON', run.file);
  }
  if (!Array.isArray(parsed)) throw new ChaosError('INVALID_HISTORY', 'a list of expectations', run.file);
  return parsed.map((item: unknown, index) => {
    const source = `${run.file}[${index}]`;
    const e = item as Record<string, unknown>;
    if (typeof item !== 'object' || item === null || typeof e['fault'] !== 'string' || e['fault'] === '') {
      throw new ChaosError('INVALID_HISTORY', 'each expectation names its "fault"', source);
    }
    for (const name of Object.keys(e)) {
      if (name === 'fault') continue;
      const value = e[name];
      const limit = name === 'availabilityMin' ? 1 : Number.MAX_SAFE_INTEGER;
      if (!(SLO_BOUNDS as readonly string[]).includes(name)) {
        throw new ChaosError('INVALID_HISTORY', `unknown bound "${name}" (${SLO_BOUNDS.join(', ')})`, source);
      }
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > limit) {
        throw new ChaosError('INVALID_HISTORY', `"${name}" must be a number in 0..${limit}`, source);
      }
    }
    return e as unknown as SloExpectation;
  });
}

/**
 * checkRun parses a run's files and runs every checker: fenced-store (each store log on its
 * own), grants, linearizability, server-holders and slo. A checker with nothing to read (no
 * store log, no audit file, no client history) answers `unknown`, so a harness that forgot a
 * file never gets a pass. Malformed input throws INVALID_HISTORY naming the file and line.
 */
export function checkRun(files: RunFiles, options: LinearizabilityOptions = {}): RunVerdict {
  const operations: Operation[] = files.clients
    .flatMap((client) => pairOperations(parseClientHistory(client.text, client.file)))
    .sort((a, b) => compareBigint(a.invokeNs, b.invokeNs));
  const logs: StoreRecord[][] = files.stores.map((store) => parseStoreLog(store.text, store.file));
  const events: AuditEvent[] | undefined =
    files.audit === undefined ? undefined : parseAuditEvents(files.audit.text, files.audit.file);
  const timeline =
    files.timeline === undefined ? [] : parseTimeline(files.timeline.text, files.timeline.file);
  const expectations = files.sloExpectations === undefined ? [] : parseSloExpectations(files.sloExpectations);

  const acknowledged = grantsFromOperations(operations);
  const grants = [...(events === undefined ? [] : grantsFromEvents(events)), ...acknowledged];
  const windows = faultWindows(timeline);
  const figures = sloFigures(windows, operations);
  const checkers: CheckResult[] = [
    ...(logs.length === 0
      ? [missing('fenced-store', 'store-*.jsonl')]
      : logs.map((log) => checkFencedStore(log, grants))),
    checkGrants({
      events,
      acknowledged,
      restartsNs: timeline.filter((r) => r.kind === 'restart').map((r) => r.timeNs),
    }),
    files.clients.length === 0
      ? missing('linearizability', 'client-*.jsonl')
      : checkLinearizability(operations, options),
    events === undefined ? missing('server-holders', 'audit.jsonl') : checkServerHolders(events),
    checkSlos(figures, expectations),
  ];
  return {
    verdict: combineVerdicts(checkers.map((c) => c.verdict)),
    counts: {
      operations: operations.length,
      storeWrites: logs.reduce((n, log) => n + log.length, 0),
      auditEvents: events === undefined ? null : events.length,
      faults: windows.length,
    },
    checkers,
    sloFigures: figures,
  };
}
