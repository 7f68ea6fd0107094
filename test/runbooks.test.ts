import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { CliIo } from '@omnirelay/cli';
import { runCli } from '@omnirelay/cli';
import { freePort } from '@omnirelay/server';

/**
 * The runbooks in docs/runbooks/ executed, in order, against real server processes on
 * 127.0.0.1 (the convention is in docs/runbooks/README.md): a runbook and the software cannot
 * drift apart. Every process is started and stopped by PID.
 */

jest.setTimeout(600_000);

const REPO = resolve(__dirname, '..');
const RUNBOOKS = join(REPO, 'docs', 'runbooks');

/**
 * NOT_EXECUTED lists the runbooks with no executable block, each with the reason. A listed
 * runbook that has one, or an unlisted one without one, fails the test.
 */
const NOT_EXECUTED: Readonly<Record<string, string>> = {
  'README.md': 'the index of the runbooks and the convention this test reads',
  'rotate-peer-certificates.md':
    'needs a mutual-TLS cluster and certificate files; its steps are executed by packages/server/test/cluster/peer-tls.test.ts ("rotating the peer certificates …"), which it names',
  'rotate-client-certificates.md':
    'needs a TLS cluster, a client CA and certificate files; its steps are executed by packages/server/test/cluster/client-cert-rotation.test.ts, which it names',
};

/** EXCLUDED_FOLDERS are the folders under docs/runbooks that hold no runbook of this convention. */
const EXCLUDED_FOLDERS: Readonly<Record<string, string>> = {
  alerts:
    'one page per Prometheus alert (linked from deploy/prometheus): symptoms and checks that point to the runbooks here, no procedure of their own',
};

/**
 * FIXTURES are the clusters each fixture allocates: a Raft cluster id and its members; n4 is
 * allocated but not started. `two-clusters` adds a second cluster (n5-n7) for the cross-cluster
 * runbooks, whose addresses are in OMNIRELAY_B_ENDPOINTS and OMNIRELAY_B_HTTP_ENDPOINTS.
 */
const FIXTURES: Readonly<Record<string, readonly { clusterId: string; nodes: readonly string[] }[]>> = {
  'three-nodes': [{ clusterId: 'omnirelay', nodes: ['n1', 'n2', 'n3', 'n4'] }],
  'two-clusters': [
    { clusterId: 'omnirelay', nodes: ['n1', 'n2', 'n3', 'n4'] },
    { clusterId: 'omnirelay-b', nodes: ['n5', 'n6', 'n7'] },
  ],
};
/**
 * SHARED_FIXTURE lists the runbooks that run, in this order, one after another on one
 * three-nodes fixture instead of a fresh one each (a fixture costs three server starts from
 * source and an election). Each starts from the fixture's initial state and must leave it so,
 * which the test checks after each one (expectInitialState): n1-n3 running, the only voters, no
 * learner, every member bound to its store and all agreeing on one leader; n4 stopped and not a
 * member. What may differ, and none of them depends on: which member leads (leadership-transfer
 * moves it, scale-down moves it to n1), the lease reading-the-dashboard takes, and n3's data
 * folder (scale-down and replace-failed-node rebuild it). replace-failed-node (kill -9 and a
 * wiped folder) runs last. The other runbooks get a fresh fixture: backup-and-restore and
 * lost-quorum-recovery end with every member on another cluster id, and each cross-cluster
 * runbook expects failover epochs that start from none. A runbook that fails leaves its
 * fixture to be stopped; the next one gets a fresh one.
 */
const SHARED_FIXTURE: readonly string[] = [
  'leadership-transfer-and-rolling-restart.md',
  'reading-the-dashboard.md',
  'scale-up.md',
  'scale-down.md',
  'replace-failed-node.md',
];
/** SPARE is the member a fixture allocates without starting it. */
const SPARE = 'n4';
/** Generous Raft timings: several engineers share two CPU cores. */
const ELECTION_TIMEOUT_MS = 1500;
const HEARTBEAT_MS = 100;
/** COMMAND_TIMEOUT_MS bounds one command; RETRY_POLL_MS is the pause between tries of `# retry`. */
const COMMAND_TIMEOUT_MS = 90_000;
const RETRY_POLL_MS = 500;
/** START_WAIT_MS bounds the wait for a fixture's first leader and for a stopped process to end. */
const START_WAIT_MS = 60_000;

/** Command is one command of a block with what must hold after it. */
interface Command {
  readonly line: string;
  readonly exit: number;
  readonly expects: readonly string[];
  readonly expectsNot: readonly string[];
  readonly retrySeconds: number;
}

/** Block is one fenced `sh` block: what the test does with it, and its commands. */
interface Block {
  readonly kind: 'run' | 'start' | 'stop' | 'illustrative';
  readonly node: string | undefined;
  readonly simulate: boolean;
  readonly commands: readonly Command[];
  readonly lineNumber: number;
}

/** Runbook is a parsed runbook: its fixture (when it has one) and its blocks. */
interface Runbook {
  readonly fixture: string | undefined;
  readonly blocks: readonly Block[];
}

/** parseRunbook reads the convention of docs/runbooks/README.md; anything it does not know is an error. */
function parseRunbook(text: string, file: string): Runbook {
  const fixture = /<!-- runbook-fixture: ([a-z-]+) -->/.exec(text)?.[1];
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const body: string[] = [];
    const start = i + 1;
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (open[1] !== 'sh') continue;
    let kind: Block['kind'] = 'run';
    let node: string | undefined;
    let simulate = false;
    for (const word of open[2]!
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '')) {
      const m = /^(start|stop)=(n\d)$/.exec(word);
      if (m !== null) {
        kind = m[1] as 'start' | 'stop';
        node = m[2];
      } else if (word === 'simulate') simulate = true;
      else if (word === 'illustrative') kind = 'illustrative';
      else throw new Error(`${file}:${start}: unknown word ${JSON.stringify(word)} after \`\`\`sh`);
    }
    blocks.push({
      kind,
      node,
      simulate,
      commands: kind === 'illustrative' ? [] : parseCommands(body, `${file}:${start}`),
      lineNumber: start,
    });
  }
  return { fixture, blocks };
}

/** parseCommands reads one block's commands and their `# exit`, `# retry`, `# expect` lines. */
function parseCommands(body: readonly string[], where: string): Command[] {
  const commands: {
    line: string;
    exit: number;
    expects: string[];
    expectsNot: string[];
    retrySeconds: number;
  }[] = [];
  let exit = 0;
  let retrySeconds = 0;
  for (let i = 0; i < body.length; i++) {
    let line = body[i]!.trim();
    if (line === '') continue;
    const directive = /^# (exit|retry|expect|expect-not): (.+)$/.exec(line);
    if (directive !== null) {
      const [, name, value] = directive as unknown as [string, string, string];
      if (name === 'exit') exit = Number(value);
      else if (name === 'retry') retrySeconds = Number(value);
      else {
        const last = commands[commands.length - 1];
        if (last === undefined) throw new Error(`${where}: "# ${name}" before any command`);
        (name === 'expect' ? last.expects : last.expectsNot).push(value);
      }
      continue;
    }
    if (line.startsWith('#')) {
      if (/^# [a-z-]+:/.test(line)) throw new Error(`${where}: unknown directive ${JSON.stringify(line)}`);
      continue;
    }
    while (line.endsWith('\\') && i + 1 < body.length)
      line = `${line.slice(0, -1).trimEnd()} ${body[++i]!.trim()}`;
    commands.push({ line, exit, expects: [], expectsNot: [], retrySeconds });
    exit = 0;
    retrySeconds = 0;
  }
  return commands;
}

/** Outcome is how one command ended. */
interface Outcome {
  readonly code: number;
  readonly output: string;
}

/**
 * Fixture is a running set of members for one runbook: their addresses, folders and config
 * files, the environment the runbook's commands see, and every process it started (by PID).
 */
class Fixture {
  readonly env: Record<string, string> = {};
  private readonly processes = new Map<string, ChildProcess>();
  /** started are the members the fixture started, per cluster: its initial state. */
  private started: readonly (readonly string[])[] = [];

  private constructor(readonly work: string) {}

  static async create(work: string, fixtureName: string): Promise<Fixture> {
    const clusters = FIXTURES[fixtureName];
    if (clusters === undefined) throw new Error(`unknown runbook fixture ${JSON.stringify(fixtureName)}`);
    const f = new Fixture(work);
    const bin = join(work, 'bin');
    mkdirSync(join(work, 'logs'), { recursive: true });
    mkdirSync(bin);
    const swc = `SWC_NODE_PROJECT=${join(REPO, 'tsconfig.check.json')} exec ${process.execPath} -r @swc-node/register`;
    for (const [name, main] of [
      ['omnirelay', join(REPO, 'packages/cli/src/main.ts')],
      ['omnirelay-server', join(REPO, 'packages/server/src/main.ts')],
    ] as const) {
      writeFileSync(join(bin, name), `#!/bin/sh\ncd ${REPO} && ${swc} ${main} "$@"\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const nodes: { id: string; clusterId: string; peer: string; http: string; grpc: string }[] = [];
    for (const { clusterId, nodes: ids } of clusters) {
      for (const id of ids) {
        nodes.push({
          id,
          clusterId,
          peer: `127.0.0.1:${await freePort()}`,
          http: `127.0.0.1:${await freePort()}`,
          grpc: `127.0.0.1:${await freePort()}`,
        });
      }
    }
    for (const n of nodes) {
      const i = n.id.slice(1);
      const others = nodes.filter((o) => o.id !== n.id && o.id !== SPARE && o.clusterId === n.clusterId);
      const config = {
        id: n.id,
        clusterId: n.clusterId,
        dataDir: join(work, 'data', n.id),
        peerAddress: n.peer,
        clientAddress: n.http,
        grpcAddress: n.grpc,
        peers: Object.fromEntries(others.map((o) => [o.id, o.peer])),
        peerClients: Object.fromEntries(others.map((o) => [o.id, o.http])),
        peerGrpc: Object.fromEntries(others.map((o) => [o.id, o.grpc])),
        electionTimeoutMs: ELECTION_TIMEOUT_MS,
        heartbeatMs: HEARTBEAT_MS,
        diskFreeBytesMin: 1,
        logLevel: 'info',
      };
      const configFile = join(work, `${n.id}.json`);
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      Object.assign(f.env, {
        [`NODE${i}_PEER`]: n.peer,
        [`NODE${i}_HTTP`]: n.http,
        [`NODE${i}_GRPC`]: n.grpc,
        [`NODE${i}_DATA`]: config.dataDir,
        [`NODE${i}_CONFIG`]: configFile,
      });
    }
    const started = clusters.map((c) => nodes.filter((n) => n.clusterId === c.clusterId && n.id !== SPARE));
    f.started = started.map((members) => members.map((n) => n.id));
    Object.assign(f.env, { WORK: work, PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    started.forEach((members, k) => {
      const prefix = k === 0 ? 'OMNIRELAY' : `OMNIRELAY_${String.fromCharCode(65 + k)}`;
      f.env[`${prefix}_ENDPOINTS`] = members.map((n) => n.grpc).join(',');
      f.env[`${prefix}_HTTP_ENDPOINTS`] = members.map((n) => n.http).join(',');
    });
    for (const members of started) {
      for (const { id } of members)
        f.start(id, `omnirelay-server --config $NODE${id.slice(1)}_CONFIG --initial-cluster-state new`);
    }
    for (const members of started) await f.waitForLeader(members.map((n) => n.id));
    return f;
  }

  /** start runs a long-running member command in the background and records its PID. */
  start(node: string, line: string): void {
    if (this.processes.has(node)) throw new Error(`${node} is already running`);
    const log = openSync(join(this.work, 'logs', `${node}.log`), 'a');
    const child = spawn('bash', ['-c', `exec ${line}`], {
      cwd: REPO,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.processes.set(node, child);
    this.env[`NODE${node.slice(1)}_PID`] = String(child.pid);
  }

  /** waitExit waits for `node`'s process to end (the runbook stopped it), bounded by START_WAIT_MS. */
  async waitExit(node: string): Promise<void> {
    const child = this.processes.get(node);
    if (child === undefined) throw new Error(`${node} was not started`);
    if (child.exitCode === null && child.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        new Promise<boolean>((r) => child.once('exit', () => r(true))),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), START_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (!ended) throw new Error(`${node} (pid ${child.pid}) did not stop within ${START_WAIT_MS} ms`);
    }
    this.processes.delete(node);
  }

  /**
   * stopAll ends every process still running with SIGKILL, each by PID, and waits for it to end.
   * The fixture's data is thrown away: a SIGTERM would only make the leader wait
   * SHUTDOWN_TRANSFER_TIMEOUT_MS (3 s) to hand leadership to members that are stopping too.
   */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.processes.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }),
    );
    this.processes.clear();
  }

  /**
   * expectInitialState waits, bounded by START_WAIT_MS, until the fixture is as it started:
   * exactly its started members running, and in each cluster every one of them answering /status
   * with the same leader, those members as the only voters, no learner and no member bound to
   * another store. It fails with what it last saw.
   */
  async expectInitialState(): Promise<void> {
    const want = this.started.map((ids) =>
      ids.map((id) => ({ id, voters: [...ids].sort(), learners: [], stale: [] })),
    );
    let seen: unknown;
    for (const deadline = Date.now() + START_WAIT_MS; Date.now() < deadline;) {
      const running = [...this.processes]
        .filter(([, child]) => child.exitCode === null && child.signalCode === null)
        .map(([node]) => node)
        .sort();
      const statuses = await Promise.all(
        this.started.map((ids) =>
          Promise.all(ids.map((id) => statusSeenBy(this.env[`NODE${id.slice(1)}_HTTP`]!))),
        ),
      );
      seen = {
        running,
        clusters: statuses.map((cluster) =>
          cluster.map((s) => ({
            id: s?.id,
            voters: [...(s?.membership?.voters ?? [])].sort(),
            learners: s?.membership?.learners ?? [],
            stale: Object.keys(s?.staleMembers ?? {}),
          })),
        ),
      };
      const agreed = statuses.every((cluster) =>
        cluster.every((s) => s?.leader !== undefined && s.leader !== '' && s.leader === cluster[0]?.leader),
      );
      if (agreed && isDeepStrictEqual(seen, { running: this.started.flat().sort(), clusters: want })) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen).toEqual({ running: this.started.flat().sort(), clusters: want });
    throw new Error(`the members agree on no leader; see ${join(this.work, 'logs')}`);
  }

  private async waitForLeader(ids: readonly string[]): Promise<void> {
    for (const deadline = Date.now() + START_WAIT_MS; Date.now() < deadline;) {
      const statuses = await Promise.all(ids.map((id) => statusSeenBy(this.env[`NODE${id.slice(1)}_HTTP`]!)));
      const leaders = statuses.map((s) => s?.leader ?? '');
      if (leaders.every((l) => l !== '' && l === leaders[0])) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no leader within ${START_WAIT_MS} ms; see ${join(this.work, 'logs')}`);
  }

  /**
   * run runs one command line: `omnirelay …` without shell operators runs in this process (bash
   * only expands its words, so quoting and $VARS behave as in a shell; it saves a Node.js start
   * per command), anything else runs in bash with the shims on PATH.
   */
  async run(line: string): Promise<Outcome> {
    if (/^omnirelay\s/.test(line) && !/[|&;<>`]|\$\(/.test(line)) {
      const words = await expandWords(line, this.env);
      let output = '';
      const io: CliIo = {
        stdout: (t) => (output += t),
        stderr: (t) => (output += t),
        env: this.env,
        now: () => Date.now(),
        onStop: () => () => undefined,
      };
      const code = await runCli(words.slice(1), io);
      return { code, output };
    }
    return runShell(line, this.env);
  }
}

/** SeenStatus is the part of a member's GET /status the fixture reads; any field may be missing. */
interface SeenStatus {
  readonly id?: string;
  readonly leader?: string;
  readonly membership?: { readonly voters?: readonly string[]; readonly learners?: readonly string[] };
  readonly staleMembers?: Readonly<Record<string, string>>;
}

/** statusSeenBy asks one member's GET /status (undefined when it does not answer with JSON). */
function statusSeenBy(address: string): Promise<SeenStatus | undefined> {
  return new Promise((done) => {
    const req = get(`http://${address}/status`, { timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          done(JSON.parse(text) as SeenStatus);
        } catch {
          done(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
  });
}

/** runShell runs `line` with bash, bounded by COMMAND_TIMEOUT_MS; output is stdout and stderr together. */
function runShell(line: string, env: Record<string, string>): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', line], { cwd: REPO, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (output += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (output += t));
    const timer = setTimeout(
      () => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'),
      COMMAND_TIMEOUT_MS,
    );
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, output });
    });
  });
}

/** expandWords has bash split and expand `line` into its words (NUL-separated), without running it. */
async function expandWords(line: string, env: Record<string, string>): Promise<string[]> {
  const r = await runShell(`printf '%s\\0' ${line}`, env);
  if (r.code !== 0) throw new Error(`cannot expand ${JSON.stringify(line)}: ${r.output}`);
  return r.output.split('\0').slice(0, -1);
}

/** check says what is wrong with an outcome, or undefined when the command did what the runbook says. */
function check(command: Command, outcome: Outcome): string | undefined {
  if (outcome.code !== command.exit) return `exit ${outcome.code}, not ${command.exit}`;
  const missing = command.expects.find((t) => !outcome.output.includes(t));
  if (missing !== undefined) return `no ${JSON.stringify(missing)} in the output`;
  const present = command.expectsNot.find((t) => outcome.output.includes(t));
  if (present !== undefined) return `${JSON.stringify(present)} in the output`;
  return undefined;
}

/** runCommand runs one command, again and again for `# retry`, until it checks out or the retry runs out. */
async function runCommand(fixture: Fixture, command: Command, where: string): Promise<void> {
  const deadline = Date.now() + command.retrySeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    const outcome = await fixture.run(command.line);
    const problem = check(command, outcome);
    if (problem === undefined) return;
    if (Date.now() + RETRY_POLL_MS > deadline) {
      throw new Error(
        `${where}: \`${command.line}\`: ${problem} (after ${attempt} tries)\n${outcome.output}`,
      );
    }
    await new Promise((r) => setTimeout(r, RETRY_POLL_MS));
  }
}

/** runbookFiles are the runbooks: every docs/runbooks/*.md. */
function runbookFiles(): string[] {
  return readdirSync(RUNBOOKS)
    .filter((f) => f.endsWith('.md'))
    .sort();
}

/** executionOrder is the executed runbooks as they run: those with a fresh fixture, then SHARED_FIXTURE. */
function executionOrder(): string[] {
  const fresh = runbookFiles().filter((f) => !Object.hasOwn(NOT_EXECUTED, f) && !SHARED_FIXTURE.includes(f));
  return [...fresh, ...SHARED_FIXTURE];
}

describe('docs/runbooks', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-runbooks-'));
  /** shared is the SHARED_FIXTURE runbooks' fixture, while the last one left it as it started. */
  let shared: Fixture | undefined;
  afterAll(async () => {
    await shared?.stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('each runbook is executable by the convention, or listed with the reason it is not, and its links resolve', () => {
    for (const folder of readdirSync(RUNBOOKS, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      expect({ folder: folder.name, listed: Object.hasOwn(EXCLUDED_FOLDERS, folder.name) }).toEqual({
        folder: folder.name,
        listed: true,
      });
    }
    for (const listed of Object.keys(NOT_EXECUTED)) expect(existsSync(join(RUNBOOKS, listed))).toBe(true);
    for (const file of SHARED_FIXTURE) {
      const exists = existsSync(join(RUNBOOKS, file));
      const fixture = exists
        ? parseRunbook(readFileSync(join(RUNBOOKS, file), 'utf8'), file).fixture
        : undefined;
      expect({ file, exists, executed: !Object.hasOwn(NOT_EXECUTED, file), fixture }).toEqual({
        file,
        exists: true,
        executed: true,
        fixture: 'three-nodes',
      });
    }
    for (const file of runbookFiles()) {
      const text = readFileSync(join(RUNBOOKS, file), 'utf8');
      const runbook = parseRunbook(text, file);
      const executable = runbook.blocks.some((b) => b.kind !== 'illustrative' && !b.simulate);
      expect({ file, executable }).toEqual({ file, executable: !Object.hasOwn(NOT_EXECUTED, file) });
      if (executable) {
        expect({ file, fixture: Object.hasOwn(FIXTURES, runbook.fixture ?? '') }).toEqual({
          file,
          fixture: true,
        });
      }
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        expect({
          file,
          link: target,
          exists: existsSync(resolve(dirname(join(RUNBOOKS, file)), target!)),
        }).toEqual({ file, link: target, exists: true });
      }
    }
  });

  it('parses the convention and refuses what it does not know', () => {
    const parsed = parseRunbook(
      [
        '<!-- runbook-fixture: three-nodes -->',
        '```sh',
        '# retry: 5',
        'a \\',
        '  b',
        '# expect: x',
        '# exit: 2',
        'c',
        '```',
        '```sh simulate stop=n2',
        'kill',
        '```',
        '```sh illustrative',
        'rm -rf /',
        '```',
      ].join('\n'),
      't.md',
    );
    expect(parsed.fixture).toBe('three-nodes');
    expect(
      parsed.blocks.map((b) => [
        b.kind,
        b.node,
        b.simulate,
        b.commands.map((c) => [c.line, c.exit, c.retrySeconds, c.expects]),
      ]),
    ).toEqual([
      [
        'run',
        undefined,
        false,
        [
          ['a b', 0, 5, ['x']],
          ['c', 2, 0, []],
        ],
      ],
      ['stop', 'n2', true, [['kill', 0, 0, []]]],
      ['illustrative', undefined, false, []],
    ]);
    expect(() => parseRunbook('```sh ilustrative\nx\n```', 't.md')).toThrow(/unknown word "ilustrative"/);
    expect(() => parseRunbook('```sh\nx\n# expct: y\n```', 't.md')).toThrow(/unknown directive/);
  });

  for (const file of executionOrder()) {
    const sharing = SHARED_FIXTURE.includes(file);
    it(`executes ${file} against real local processes${sharing ? ', on the fixture it shares' : ''}`, async () => {
      const runbook = parseRunbook(readFileSync(join(RUNBOOKS, file), 'utf8'), file);
      // The shared fixture passes from one runbook to the next only once the last one left it
      // as it started (checked below); otherwise, and for every other runbook, a fresh one.
      const fixture =
        (sharing ? shared : undefined) ??
        (await Fixture.create(
          mkdtempSync(join(root, `${sharing ? 'shared' : file.replace(/\.md$/, '')}-`)),
          runbook.fixture ?? '',
        ));
      shared = undefined;
      let keep = false;
      try {
        for (const block of runbook.blocks) {
          const where = `${file}:${block.lineNumber}`;
          if (block.kind === 'illustrative') continue;
          if (block.kind === 'start') {
            expect({ where, commands: block.commands.length }).toEqual({ where, commands: 1 });
            fixture.start(block.node!, block.commands[0]!.line);
            continue;
          }
          for (const command of block.commands) await runCommand(fixture, command, where);
          if (block.kind === 'stop') await fixture.waitExit(block.node!);
        }
        if (sharing) {
          await fixture.expectInitialState();
          keep = true;
        }
      } finally {
        if (keep) shared = fixture;
        else await fixture.stopAll();
      }
    });
  }
});
