/**
 * CleanupRegistry holds the undo step of everything the harness creates (namespaces, nft tables,
 * mounts, processes, proxies). `runAll` runs them last-in first-out, each at most once, and goes
 * on past a failing step; `installSignalHandlers` runs them on SIGINT and SIGTERM too, so a run
 * leaves nothing behind on success, failure or Ctrl-C.
 */
export class CleanupRegistry {
  private readonly steps: Array<{ readonly name: string; readonly run: () => unknown; done: boolean }> = [];
  private running: Promise<string[]> | undefined;
  private uninstall: (() => void) | undefined;

  /** add registers an undo step; it returns a function that runs that step now (once). */
  add(name: string, run: () => unknown): () => Promise<void> {
    const step = { name, run, done: false };
    this.steps.push(step);
    return async () => {
      if (step.done) return;
      step.done = true;
      await step.run();
    };
  }

  /** pending counts the steps not run yet. */
  get pending(): number {
    return this.steps.filter((s) => !s.done).length;
  }

  /**
   * runAll runs every step not yet run, newest first, and resolves with the failures' messages
   * (a failed step does not stop the others). Concurrent calls share one pass.
   */
  runAll(): Promise<string[]> {
    this.running ??= (async () => {
      const failures: string[] = [];
      for (const step of [...this.steps].reverse()) {
        if (step.done) continue;
        step.done = true;
        try {
          await step.run();
        } catch (e) {
          failures.push(`${step.name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      this.uninstall?.();
      this.running = undefined;
      return failures;
    })();
    return this.running;
  }

  /**
   * installSignalHandlers makes SIGINT and SIGTERM run every step, then exit with 130 / 143.
   * It returns a function that removes the handlers (runAll also removes them).
   */
  installSignalHandlers(onSignal: (signal: NodeJS.Signals) => void = () => undefined): () => void {
    const handler = (signal: NodeJS.Signals): void => {
      onSignal(signal);
      void this.runAll().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    this.uninstall = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      this.uninstall = undefined;
    };
    return this.uninstall;
  }
}
