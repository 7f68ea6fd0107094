/**
 * Small time helpers of the compare bench: a sleep, a deadline around a promise, and a clock that
 * reads the same in every worker thread.
 */

/** sleep resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** withDeadline rejects with "<what> timed out after <ms> ms" when `p` has not settled within `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * sharedNowMs is a high-resolution time in ms that agrees across worker threads of one process
 * (each thread's performance.now() counts from its own timeOrigin).
 */
export function sharedNowMs(): number {
  return performance.timeOrigin + performance.now();
}
