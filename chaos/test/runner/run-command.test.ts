import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_EXIT, runChaosCommand } from '../../src/runner/run-command';

async function run(args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runChaosCommand(args, (l) => lines.push(l));
  return { code, text: lines.join('\n') };
}

describe('runChaosCommand', () => {
  it('refuses an unknown scenario, naming the known ones', async () => {
    const { code, text } = await run(['--scenario', 'nope']);
    expect(code).toBe(RUN_EXIT.BAD_ARGUMENTS);
    expect(text).toContain('no scenario "nope" (known: leader-kill, leader-partition,');
  });

  it('refuses a bad seed, duration, suite or netns setting', async () => {
    expect((await run(['--seed', 'x'])).text).toContain('--seed must be an integer in 0..4294967295, got x');
    expect((await run(['--duration', '1'])).text).toContain('--duration must be 5..3600 seconds, got 1');
    expect((await run(['--suite', 'medium'])).text).toContain(
      '--suite must be short, long or broken, got medium',
    );
    expect((await run(['--netns', 'maybe'])).text).toContain('--netns must be auto, on or off, got maybe');
    expect((await run(['--bogus'])).code).toBe(RUN_EXIT.BAD_ARGUMENTS);
  });

  it('refuses a scenarios file that does not validate, naming its line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaos-cmd-'));
    try {
      const file = join(dir, 's.yaml');
      writeFileSync(file, 'version: 1\nscenarios:\n  - { name: a, suite: short, faults: [], nodes: 4 }\n');
      const { code, text } = await run(['--scenarios', file]);
      expect(code).toBe(RUN_EXIT.BAD_ARGUMENTS);
      expect(text).toContain(`${file}:3:`);
      expect(text).toContain('/scenarios/0/nodes must be equal to one of the allowed values: 3, 5');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
