import type { Operation, OperationInput, OperationOutput, OperationStatus } from '../../src/operations';
import type { OperationFunction } from '../../src/history';

/**
 * op builds one operation for hand-made histories: times in milliseconds ([invoke, complete],
 * complete null for an operation that never answered), scope `s` unless given.
 */
export function op(
  process: string,
  f: OperationFunction,
  input: OperationInput,
  times: readonly [number, number | null],
  output: OperationOutput = {},
  status: OperationStatus = 'ok',
  scope = 's',
): Operation {
  const [invokeMs, completeMs] = times;
  return {
    process,
    f,
    scope,
    input,
    status: completeMs === null ? 'info' : status,
    output,
    invokeNs: BigInt(invokeMs) * 1_000_000n,
    completeNs: completeMs === null ? null : BigInt(completeMs) * 1_000_000n,
    source: `test:${process}@${invokeMs}`,
  };
}

/** grantOp is an acquire by `candidate` (session `session-<candidate>`) that was granted `fence`. */
export function grantOp(
  candidate: string,
  fence: bigint,
  times: readonly [number, number | null],
): Operation {
  return op(candidate, 'acquire', { candidate, session: `session-${candidate}` }, times, {
    granted: true,
    fence,
  });
}
