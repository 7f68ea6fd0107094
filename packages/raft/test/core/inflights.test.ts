import { Inflights, isInvariantViolation } from '../../src/core/index';

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('Inflights', () => {
  it('is full once it holds capacity messages', () => {
    const inflights = new Inflights(3);
    inflights.add(1);
    inflights.add(2);
    expect(inflights.full()).toBe(false);
    inflights.add(5);
    expect(inflights.full()).toBe(true);
    expect(inflights.count).toBe(3);
  });

  it('frees every message whose last index is at or below the acknowledged index', () => {
    const inflights = new Inflights(4);
    for (const i of [2, 4, 6, 8]) inflights.add(i);
    inflights.freeLE(5);
    expect(inflights.count).toBe(2);
    inflights.freeLE(5);
    expect(inflights.count).toBe(2);
    inflights.freeLE(100);
    expect(inflights.count).toBe(0);
  });

  it('ignores an acknowledgement below every message in flight', () => {
    const inflights = new Inflights(2);
    inflights.add(10);
    inflights.freeLE(3);
    expect(inflights.count).toBe(1);
  });

  it('frees the oldest message alone with freeFirstOne', () => {
    const inflights = new Inflights(2);
    inflights.add(1);
    inflights.add(2);
    inflights.freeFirstOne();
    expect(inflights.full()).toBe(false);
    inflights.add(3);
    inflights.freeLE(2);
    expect(inflights.count).toBe(1);
  });

  it('forgets everything on reset', () => {
    const inflights = new Inflights(2);
    inflights.add(1);
    inflights.add(2);
    inflights.reset();
    expect(inflights.count).toBe(0);
    inflights.add(1);
    expect(inflights.count).toBe(1);
  });

  it('refuses an add while full', () => {
    const inflights = new Inflights(1);
    inflights.add(1);
    expect(isInvariantViolation(thrown(() => inflights.add(2)))).toBe(true);
  });

  it('refuses an index that does not increase', () => {
    const inflights = new Inflights(3);
    inflights.add(5);
    expect(isInvariantViolation(thrown(() => inflights.add(5)))).toBe(true);
    expect(isInvariantViolation(thrown(() => inflights.add(4)))).toBe(true);
  });

  it('refuses a capacity below one', () => {
    expect(isInvariantViolation(thrown(() => new Inflights(0)))).toBe(true);
  });
});
