import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';

/** REPO is the Dockerfile's build context. */
export const REPO = resolve(__dirname, '../../..');

/** Instruction is one Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  readonly keyword: string;
  readonly rest: string;
}

/** Stage is a FROM and the instructions under it. */
export interface Stage {
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** parseDockerfile splits a Dockerfile into stages of instructions (comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  const stages: Array<{ from: string; instructions: Instruction[] }> = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), rest: rest.join(' ') };
    if (instruction.keyword === 'FROM') stages.push({ from: instruction.rest, instructions: [] });
    else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/**
 * dockerIgnored reads .dockerignore as Docker does for these patterns: `**\/name` matches `name` at
 * any depth, any other pattern only the path from the context's root.
 */
function dockerIgnored(): (path: string) => boolean {
  const patterns = readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const anywhere = patterns.filter((p) => p.startsWith('**/')).map((p) => p.slice(3));
  const rooted = new Set(patterns.filter((p) => !p.startsWith('**/')));
  return (path) => {
    const inContext = relative(REPO, path);
    if (rooted.has(inContext)) return true;
    return anywhere.some((p) =>
      p.startsWith('*.') ? basename(path).endsWith(p.slice(1)) : basename(path) === p,
    );
  };
}

/** STEP_TIMEOUT_MS bounds one RUN step (npm ci, tsc --build). */
const STEP_TIMEOUT_MS = 300_000;

/**
 * stageImage runs the Dockerfile's two stages outside Docker: the build stage's COPY from the
 * context and RUN steps in `<staging>/src` (its WORKDIR /src), then the runtime stage's
 * `COPY --from=build` into `<staging>/app` (its WORKDIR /app). The runtime stage's RUN, which
 * creates the user, needs root and the image's own files, so it is returned, not run.
 */
export function stageImage(staging: string): { readonly app: string; readonly skipped: readonly string[] } {
  const [build, runtime] = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  if (build === undefined || runtime === undefined) throw new Error('the Dockerfile needs two stages');
  const src = join(staging, 'src');
  const app = join(staging, 'app');
  const ignored = dockerIgnored();
  const keep = (path: string): boolean => !ignored(path);
  const copy = (
    from: string,
    sources: readonly string[],
    destination: string,
    filter: (p: string) => boolean,
  ): void => {
    for (const source of sources) {
      const target =
        destination.endsWith('/') || sources.length > 1 ? join(destination, basename(source)) : destination;
      mkdirSync(resolve(target, '..'), { recursive: true });
      cpSync(join(from, source), target, {
        recursive: statSync(join(from, source)).isDirectory(),
        filter,
        // The workspace links in node_modules stay relative, as Docker copies them.
        verbatimSymlinks: true,
      });
    }
  };
  mkdirSync(src, { recursive: true });
  for (const step of build.instructions) {
    const words = step.rest.split(/\s+/);
    if (step.keyword === 'COPY') copy(REPO, words.slice(0, -1), join(src, words.at(-1)!), keep);
    else if (step.keyword === 'RUN') {
      try {
        execFileSync('/bin/sh', ['-c', step.rest], { cwd: src, stdio: 'pipe', timeout: STEP_TIMEOUT_MS });
      } catch (e) {
        const failed = e as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(
          `RUN ${step.rest} failed:\n${String(failed.stdout ?? '').slice(-4000)}${String(failed.stderr ?? '').slice(-4000)}`,
        );
      }
    }
  }
  const skipped: string[] = [];
  mkdirSync(app, { recursive: true });
  for (const step of runtime.instructions) {
    const words = step.rest.split(/\s+/);
    if (step.keyword === 'COPY') {
      if (words[0] !== '--from=build') throw new Error(`runtime COPY not from the build stage: ${step.rest}`);
      const sources = words.slice(1, -1).map((s) => s.replace(/^\/src\//, ''));
      copy(src, sources, join(app, words.at(-1)!), () => true);
    } else if (step.keyword === 'RUN') skipped.push(step.rest);
  }
  return { app, skipped };
}
