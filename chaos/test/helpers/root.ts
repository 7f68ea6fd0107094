import { netnsAvailable } from '../../src/harness/network';
import { isRoot } from '../../src/harness/shell';
import { libfaketimePath } from '../../src/harness/clocks';

/** describeAsRoot runs `body` only as root; otherwise the skipped block's title says why. */
export const describeAsRoot = (title: string, body: () => void): void =>
  isRoot() ? describe(title, body) : describe.skip(`${title} (skipped: needs root)`, body);

/** describeWithNetns runs `body` only where network namespaces can be made (root, iproute2). */
export const describeWithNetns = (title: string, body: () => void): void =>
  netnsAvailable()
    ? describe(title, body)
    : describe.skip(`${title} (skipped: no network namespaces: needs root and iproute2)`, body);

/** describeWithFaketime runs `body` only where libfaketime is installed. */
export const describeWithFaketime = (title: string, body: () => void): void =>
  libfaketimePath() !== undefined
    ? describe(title, body)
    : describe.skip(`${title} (skipped: libfaketime is not installed)`, body);
