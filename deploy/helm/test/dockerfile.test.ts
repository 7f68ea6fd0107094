import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { SERVER_NODE_ENV } from '@omnirelay/server';
import type { RenderedStatefulSet } from './chart-invariants';
import { only } from './chart-invariants';
import type { Instruction, Stage } from './dockerfile-steps';
import { REPO, parseDockerfile } from './dockerfile-steps';
import { renderChart } from './helm';
import { IMAGE_ENTRY, IMAGE_SERVER_MAIN } from './rendered-pod';

describe('the Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  const [build, runtime] = stages;
  const of = (stage: Stage | undefined, keyword: string): Instruction[] =>
    (stage?.instructions ?? []).filter((i) => i.keyword === keyword);

  it('builds in one node:20-slim stage and runs in another', () => {
    expect(stages.map((s) => s.from)).toEqual(['node:20-slim AS build', 'node:20-slim']);
  });

  it('copies into the build stage only files of the build context that .dockerignore keeps', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    for (const copy of of(build, 'COPY')) {
      const sources = copy.rest.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect({ source, exists: existsSync(join(REPO, source)) }).toEqual({ source, exists: true });
        expect(ignored.filter((pattern) => source === pattern.replace(/^\*\*\//, ''))).toEqual([]);
      }
    }
    expect(of(runtime, 'COPY').every((c) => c.rest.startsWith('--from=build '))).toBe(true);
  });

  it("copies every workspace's package.json before npm ci, so npm ci sees the whole workspace", () => {
    const workspaces = (
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] }
    ).workspaces;
    const copies = of(build, 'COPY').map((c) => c.rest);
    const npmCi = build!.instructions.findIndex((i) => i.rest.startsWith('npm ci'));
    for (const workspace of workspaces) {
      const copy = `${workspace}/package.json ${workspace}/`;
      expect({ workspace, copied: copies.includes(copy) }).toEqual({ workspace, copied: true });
      expect(build!.instructions.findIndex((i) => i.rest === copy)).toBeLessThan(npmCi);
    }
  });

  it('compiles with every dependency, then keeps only the production dependencies', () => {
    const runs = of(build, 'RUN').map((r) => r.rest);
    expect(runs[0]).toBe('npm ci --no-audit --no-fund');
    const compile = runs.find((r) => r.includes('npx tsc --build'));
    expect(compile).toMatch(/npx tsc --build .*npm prune --omit=dev/);
    expect(of(runtime, 'RUN').some((r) => r.rest.includes('npm'))).toBe(false);
  });

  it('runs the server with SERVER_NODE_ENV, as ENV lines of the runtime stage that the chart sets too', async () => {
    const sts = only<RenderedStatefulSet>(
      await renderChart({
        set: { 'tls.existingSecret': 'omnirelay-tls', 'auth.existingSecret': 'omnirelay-tokens' },
      }),
      'StatefulSet',
    );
    const chartEnv = new Map((sts.spec.template.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    const envLines = of(runtime, 'ENV').map((e) => e.rest);
    for (const [variable, value] of Object.entries(SERVER_NODE_ENV)) {
      expect({ variable, inImage: envLines.includes(`${variable}=${value}`) }).toEqual({
        variable,
        inImage: true,
      });
      expect({ variable, inChart: chartEnv.get(variable) }).toEqual({ variable, inChart: value });
    }
  });

  it('runs as the non-root user and the entry the chart expects', async () => {
    const sts = only<RenderedStatefulSet>(
      await renderChart({
        set: { 'tls.existingSecret': 'omnirelay-tls', 'auth.existingSecret': 'omnirelay-tokens' },
      }),
      'StatefulSet',
    );
    const pod = sts.spec.template.spec.securityContext as { runAsUser: number; runAsGroup: number };
    expect(of(runtime, 'USER').map((u) => u.rest)).toEqual([`${pod.runAsUser}:${pod.runAsGroup}`]);
    expect(pod.runAsUser).toBeGreaterThan(0);
    expect(of(runtime, 'CMD').map((c) => JSON.parse(c.rest) as unknown)).toEqual([[...IMAGE_ENTRY]]);
    const workdir = of(runtime, 'WORKDIR').map((w) => w.rest);
    expect(workdir).toEqual(['/app']);
    // The entry is the server's compiled main (tsconfig: src -> dist), and the .proto files it
    // loads at run time (four folders up from dist/grpc and dist/transport) land in /app/proto.
    const entry = IMAGE_SERVER_MAIN;
    expect(existsSync(join(REPO, entry.replace('/app/', '').replace('/dist/main.js', '/src/main.ts')))).toBe(
      true,
    );
    expect(posix.join('/app/packages/server/dist/grpc', '../../../../proto/leadership.proto')).toBe(
      '/app/proto/leadership.proto',
    );
    expect(of(runtime, 'COPY').map((c) => c.rest)).toContain('--from=build /src/proto proto');
    const container = sts.spec.template.spec.containers[0]!;
    expect(container.volumeMounts?.find((m) => m.name === 'data')?.mountPath).toBe('/var/lib/omnirelay');
    expect(
      of(runtime, 'RUN')
        .map((r) => r.rest)
        .join(' '),
    ).toContain('chown 10001:10001 /var/lib/omnirelay');
  });
});
