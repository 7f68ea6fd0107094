/**
 * How the scale bench talks to its lease worker threads (OmniRelay's and etcd's alike): a question
 * posted to every worker and each one's answer awaited under a deadline, and a total split in
 * near-equal shares among them.
 */
import type { Worker } from 'node:worker_threads';
import { withDeadline } from '../compare/time';

/**
 * ask posts `{type}` to every worker (nothing when `type` is '') and waits for each one's answer
 * of type `answer`; it rejects on a worker's `{type:'error', message}` or after `ms`.
 */
export function ask<T>(workers: readonly Worker[], type: string, answer: string, ms: number): Promise<T[]> {
  return withDeadline(
    Promise.all(
      workers.map(
        (w) =>
          new Promise<T>((resolve, reject) => {
            const onMessage = (m: { type: string; message?: string }): void => {
              if (m.type === answer) {
                w.off('message', onMessage);
                resolve(m as T);
              } else if (m.type === 'error') reject(new Error(m.message));
            };
            w.on('message', onMessage);
            if (type !== '') w.postMessage({ type });
          }),
      ),
    ),
    ms,
    `lease workers answering ${answer}`,
  );
}

/** share splits `total` into `parts` near-equal counts. */
export function share(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, k) => Math.floor(total / parts) + (k < total % parts ? 1 : 0));
}
