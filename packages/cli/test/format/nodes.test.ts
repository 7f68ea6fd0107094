import { statusJson, statusTable } from '../../src/format/nodes';
import { expectGolden } from '../support/golden';
import { STATUS } from '../support/fixtures';

describe('the status renderers', () => {
  it('render one row per endpoint in the order given, unreachable ones as such', () => {
    expectGolden('status-table', statusTable(STATUS));
  });

  it('render the JSON document with reachable flags and errors', () => {
    const text = statusJson(STATUS);
    expectGolden('status-json', text);
    const parsed = JSON.parse(text) as { nodes: { reachable: boolean }[] };
    expect(parsed.nodes.map((n) => n.reachable)).toEqual([true, true, false, false, true]);
  });
});
