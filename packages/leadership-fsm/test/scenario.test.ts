import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeadershipFsm, isLeadershipError } from '@omnirelay/leadership-fsm';
import { Driver } from './helpers/driver';
import { packRaw } from './helpers/random-log';
import * as trace from './helpers/trace';

/**
 * Scenario tests as data (STYLE.md): each file in testdata/ is a sequence of blocks separated by
 * blank lines; a block is command lines, a line `----`, then the exact expected trace. State
 * carries over from block to block. `UPDATE_GOLDEN=1` rewrites the expected traces.
 *
 * Commands (defaults: ttl=1000, prio=0, meta empty; `at=MS` stamps one entry, else the clock):
 *   advance MS | leader NODE term=N | noop | restore
 *   acquire SCOPE CAND [ttl= meta= session=] | campaign SCOPE CAND [prio= ttl= meta= session=]
 *   withdraw SCOPE CAND [session=]
 *   resign SCOPE FENCE | renew SCOPE@FENCE... | expire SCOPE@FENCE...
 *   step-down SCOPE [fence=F] [successor=CAND | explicit=CAND ttl= meta=] | grace [took=MS] grace=MS [cap=MS]
 *   raw HEX | raw-command JSON (bigints as "123n")
 *   holder SCOPE | scope SCOPE | holders [prefix= limit= token=] | validate SCOPE FENCE | stats
 *   next-deadline | due NOW_MS
 */

const testdata = join(__dirname, 'testdata');
const update = process.env.UPDATE_GOLDEN === '1';

interface Block {
  readonly commands: string[];
  readonly expected: string[];
}

function parseFile(text: string, file: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of text.replace(/\r\n/g, '\n').split(/\n{2,}/)) {
    if (chunk.trim() === '') {
      continue;
    }
    const lines = chunk.split('\n');
    const separator = lines.indexOf('----');
    if (separator === -1) {
      throw new Error(`${file}: a block without "----": ${lines[0]}`);
    }
    blocks.push({
      commands: lines.slice(0, separator),
      expected: lines.slice(separator + 1).filter((l) => l !== ''),
    });
  }
  return blocks;
}

function parseArgs(words: string[]): { positional: string[]; named: Map<string, string> } {
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq > 0 && /^[a-z-]+$/.test(word.slice(0, eq))) {
      named.set(word.slice(0, eq), word.slice(eq + 1));
    } else {
      positional.push(word);
    }
  }
  return { positional, named };
}

function leaseRef(word: string): { scope: string; fenceToken: bigint } {
  const at = word.lastIndexOf('@');
  return { scope: word.slice(0, at), fenceToken: BigInt(word.slice(at + 1)) };
}

function guard(run: () => string[]): string[] {
  try {
    return run();
  } catch (e: unknown) {
    if (isLeadershipError(e)) {
      return [`error ${e.code}: ${e.message}`];
    }
    throw e;
  }
}

function runCommand(d: Driver, line: string): string[] {
  const [verb = '', ...rest] = line.trim().split(/\s+/);
  const { positional: p, named } = parseArgs(rest);
  const num = (key: string, fallback: number): number => Number(named.get(key) ?? fallback);
  const at = named.has('at') ? num('at', 0) : undefined;
  const ttl = num('ttl', 1_000);
  const metadata = named.get('meta') ?? '';
  const session = named.has('session') ? { sessionId: named.get('session') } : {};
  // Commands are packed raw, not through encodeCommand, so that bad ones reach apply.
  const entry = (command: Record<string, unknown>): string[] =>
    trace.result(
      d.applyBytes(packRaw({ type: command.type, correlationId: `c${d.index + 1}`, ...command }), at),
    );
  switch (verb) {
    case 'advance':
      d.nowMs += Number(p[0]);
      return [`clock ${d.nowMs}`];
    case 'leader':
      d.proposerId = p[0]!;
      d.term = num('term', d.term + 1);
      return [`leader ${d.proposerId} raft-term=${d.term}`];
    case 'noop':
      d.noop(at);
      return [`${d.index}: noop`];
    case 'restore': {
      const bytes = d.fsm.snapshot();
      d.fsm = LeadershipFsm.restore(bytes);
      return [`restored ${bytes.length} bytes`];
    }
    case 'acquire':
      return entry({
        type: 'acquire',
        scope: p[0],
        candidateId: p[1],
        ...session,
        metadata,
        leaseTtlMs: ttl,
      });
    case 'campaign':
      return entry({
        type: 'campaign',
        scope: p[0],
        candidateId: p[1],
        ...session,
        metadata,
        leaseTtlMs: ttl,
        priority: num('prio', 0),
      });
    case 'withdraw':
      return entry({ type: 'withdraw', scope: p[0], candidateId: p[1], ...session });
    case 'resign':
      return entry({ type: 'resign', scope: p[0], fenceToken: BigInt(p[1]!) });
    case 'renew':
    case 'expire':
      return entry({ type: verb, leases: p.map(leaseRef) });
    case 'step-down': {
      const successor = named.has('successor')
        ? { kind: 'waiting', candidateId: named.get('successor') }
        : named.has('explicit')
          ? { kind: 'explicit', candidateId: named.get('explicit'), metadata, leaseTtlMs: ttl }
          : undefined;
      return entry({
        type: 'stepDown',
        scope: p[0],
        ...(named.has('fence') ? { fenceToken: BigInt(named.get('fence')!) } : {}),
        ...(successor === undefined ? {} : { successor }),
      });
    }
    case 'grace':
      return entry({
        type: 'grace',
        tookOfficeStampMs: num('took', d.nowMs),
        graceMs: num('grace', 0),
        ...(named.has('cap') ? { capMs: num('cap', 0) } : {}),
      });
    case 'raw':
      return trace.result(d.applyBytes(Uint8Array.from(Buffer.from(p.join(''), 'hex')), at));
    case 'raw-command': {
      const value: unknown = JSON.parse(line.trim().slice('raw-command'.length), (_k, v: unknown) =>
        typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
      );
      return trace.result(d.applyBytes(packRaw(value), at));
    }
    case 'holder':
      return guard(() => {
        const view = d.fsm.getHolder(p[0]!);
        return [
          `holder ${p[0]}: ${view === null ? 'none' : `${trace.lease(view)} renewed=${view.lastRenewalStampMs}`}`,
        ];
      });
    case 'scope':
      return guard(() => trace.scope(d.fsm.getScope(p[0]!), p[0]!));
    case 'holders':
      return guard(() => {
        const page = d.fsm.listHolders({
          ...(named.has('prefix') ? { prefix: named.get('prefix')! } : {}),
          ...(named.has('limit') ? { limit: num('limit', 0) } : {}),
          ...(named.has('token') ? { pageToken: named.get('token')! } : {}),
        });
        return [
          ...page.holders.map((h) => `holder ${h.scope}: ${trace.lease(h)}`),
          `next-page-token=${page.nextPageToken ?? 'none'}`,
        ];
      });
    case 'validate':
      return guard(() => [`validate ${p[0]} ${p[1]}: ${d.fsm.validateFence(p[0]!, BigInt(p[1]!))}`]);
    case 'stats': {
      const s = d.fsm.stats();
      return [
        `stats scopes=${s.scopeCount} leases=${s.leaseCount} waiting=${s.waitingCount} applied=${s.lastAppliedIndex} raft-term=${s.lastAppliedTerm} clock=${s.clockMs}`,
      ];
    }
    case 'next-deadline': {
      const next = d.fsm.nextDeadline();
      return [`next-deadline ${next === null ? 'none' : trace.due(next)}`];
    }
    case 'due': {
      const leases = d.fsm.expiredLeases(Number(p[0]));
      return [`due at ${p[0]}: ${leases.length === 0 ? 'none' : leases.map(trace.due).join(' ')}`];
    }
    default:
      throw new Error(`unknown scenario command: ${line}`);
  }
}

function run(blocks: readonly Block[]): string[][] {
  const d = new Driver();
  return blocks.map((block) =>
    block.commands
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .flatMap((line) => runCommand(d, line)),
  );
}

const files = readdirSync(testdata)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('scenarios', () => {
  it('has scenario files', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('replays %s to the exact expected trace', (file) => {
    const path = join(testdata, file);
    const blocks = parseFile(readFileSync(path, 'utf8'), file);
    const actual = run(blocks);
    if (update) {
      const text = blocks.map((b, i) => [...b.commands, '----', ...actual[i]!].join('\n')).join('\n\n');
      writeFileSync(path, `${text}\n`);
      return;
    }
    blocks.forEach((block, i) => {
      expect({ commands: block.commands.join('\n'), trace: actual[i]!.join('\n') }).toEqual({
        commands: block.commands.join('\n'),
        trace: block.expected.join('\n'),
      });
    });
  });
});
