import { netnsAvailable } from '../../src/harness/network';
import { isRoot } from '../../src/harness/shell';
import { libfaketimePath } from '../../src/harness/clocks';

/**
 * describeWhen runs `body` when `available`. Elsewhere it is skipped with the reason in its title —
 * except in CI (`CI=true`), where `.ci/run` installs what these tests need and runs as root: there a
 * missing prerequisite runs the block anyway, so it fails loudly instead of passing by skipping.
 */
function describeWhen(available: boolean, reason: string, title: string, body: () => void): void {
  if (available || process.env['CI'] === 'true') describe(title, body);
  else describe.skip(`${title} (skipped: ${reason})`, body);
}

/** describeAsRoot runs `body` only as root (always in CI). */
export const describeAsRoot = (title: string, body: () => void): void =>
  describeWhen(isRoot(), 'needs root', title, body);

/** describeWithNetns runs `body` only where network namespaces can be made (root, iproute2; always in CI). */
export const describeWithNetns = (title: string, body: () => void): void =>
  describeWhen(netnsAvailable(), 'no network namespaces: needs root and iproute2', title, body);

/** describeWithFaketime runs `body` only where libfaketime is installed (always in CI). */
export const describeWithFaketime = (title: string, body: () => void): void =>
  describeWhen(libfaketimePath() !== undefined, 'libfaketime is not installed', title, body);
