import { parseOptions } from './command-line';

/** StoreArgs are the fenced store's command-line options (store.ts). */
export interface StoreArgs {
  /** out is the log file the store appends its decisions to. */
  readonly out: string;
  readonly port: number;
  readonly host: string;
  /** broken names a deliberately broken build: `skip-fence` accepts every write. */
  readonly broken: 'skip-fence' | undefined;
}

const STORE_USAGE = 'usage: store.ts --out <file.jsonl> [--port 0] [--host 127.0.0.1] [--broken skip-fence]';

/** parseStoreArgs reads the store's arguments, or returns a message naming the bad one (with the usage). */
export function parseStoreArgs(argv: readonly string[]): StoreArgs | string {
  const values = parseOptions(
    argv,
    {
      out: { type: 'string' },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      broken: { type: 'string' },
    },
    STORE_USAGE,
  );
  if (typeof values === 'string') return values;
  if (values.out === undefined || values.out === '') return `--out is required\n${STORE_USAGE}`;
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    return `--port must be 0 to 65535, got ${values.port}`;
  }
  if (values.broken !== undefined && values.broken !== 'skip-fence') {
    return `--broken must be skip-fence, got ${values.broken}`;
  }
  return { out: values.out, port: Number(values.port), host: values.host, broken: values.broken };
}
