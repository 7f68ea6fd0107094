import { join } from 'node:path';

/**
 * startServerEntry runs the real server's entry in this process, from source when a broken build
 * runs as a `.ts` file, else from the server's build: a broken build patches the state machine,
 * then calls this when it is the process's entry (not preloaded).
 */
export function startServerEntry(): void {
  const fromSource = __filename.endsWith('.ts');
  void import(
    fromSource
      ? join(__dirname, '../../../packages/server/src/main.ts')
      : join(__dirname, '../../../../packages/server/dist/main.js')
  );
}
