import { CleanupRegistry } from '../../src/harness/cleanup';

describe('CleanupRegistry', () => {
  it('runs every step once, newest first, and goes on past a failing one', async () => {
    const cleanup = new CleanupRegistry();
    const order: string[] = [];
    cleanup.add('a', () => order.push('a'));
    cleanup.add('b', () => {
      throw new Error('boom');
    });
    const runC = cleanup.add('c', () => order.push('c'));
    await runC();
    expect(await cleanup.runAll()).toEqual(['b: boom']);
    expect(await cleanup.runAll()).toEqual([]);
    expect(order).toEqual(['c', 'a']);
    expect(cleanup.pending).toBe(0);
  });

  it('removes its signal handlers after running', async () => {
    const cleanup = new CleanupRegistry();
    const before = process.listenerCount('SIGTERM');
    cleanup.installSignalHandlers();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    await cleanup.runAll();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
