import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario, renderScenario } from './datadriven';
import { ScenarioEnv } from './env';

/**
 * Runs every `testdata/*.txt` scenario against real RaftCore instances. The test passes when the
 * transcript equals the file; `UPDATE_GOLDEN=1` rewrites the files instead (review the diff).
 */
const testdataDir = join(__dirname, 'testdata');
const update = process.env.UPDATE_GOLDEN === '1';
const files = readdirSync(testdataDir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('raft scenarios', () => {
  it('finds scenario files', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(testdataDir, file);
      const text = readFileSync(path, 'utf8');
      const scenario = parseScenario(text, file);
      const env = new ScenarioEnv();
      const outputs = scenario.blocks.map((block) => {
        try {
          return env.run(block.command);
        } catch (e) {
          const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          throw new Error(`${file}:${block.line}: ${block.command}\n${message}`, { cause: e });
        }
      });
      const rendered = renderScenario(scenario, outputs);
      if (update) {
        if (rendered !== text) writeFileSync(path, rendered);
        return;
      }
      expect(rendered).toBe(text);
    });
  }
});
