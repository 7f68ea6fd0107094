import { SetupError } from '../compare/etcd-install';

/**
 * runBenchMain runs a bench's `main` and exits: 0 when it resolves; 1 when it fails, printing a
 * SetupError (a bad option, a missing program) as its message alone and anything else with its stack.
 */
export function runBenchMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      if (e instanceof SetupError) process.stderr.write(`${e.message}\n`);
      else process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
