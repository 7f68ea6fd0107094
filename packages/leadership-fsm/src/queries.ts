import { LeadershipError } from './errors';
import type { LeaseView } from './lease';
import { leaseView } from './lease';
import { LIST_PAGE_SIZE_DEFAULT, LIST_PAGE_SIZE_MAX, SCOPE_NAME_BYTES_MAX } from './limits';
import type { Waiter } from './queue';
import { firstAtOrAfter } from './name-merge';
import { validateScopeName } from './scope-name';
import type { FsmState } from './state';

/**
 * ListHoldersRequest asks for a page of held scopes: those whose name starts with `prefix`
 * (default: all), after `pageToken` (the previous page's `nextPageToken`), at most `limit`
 * (1..LIST_PAGE_SIZE_MAX, default LIST_PAGE_SIZE_DEFAULT).
 */
export interface ListHoldersRequest {
  readonly prefix?: string;
  readonly pageToken?: string;
  readonly limit?: number;
}

/**
 * ListHoldersPage is one page of holders in scope-name order; `nextPageToken` is null on the
 * last page. The token is the last scope name of the page, so pages stay consistent when
 * scopes change between calls (no holder is listed twice; a scope added behind the cursor is
 * not seen until the next listing).
 */
export interface ListHoldersPage {
  readonly holders: readonly LeaseView[];
  readonly nextPageToken: string | null;
}

/** ScopeView is a scope's whole public state: holder, term, revision and queue in promotion order. */
export interface ScopeView {
  readonly scope: string;
  readonly scopeTerm: number;
  readonly revision: number;
  readonly holder: LeaseView | null;
  readonly waiting: readonly Waiter[];
}

const prefixPattern = /^[a-z0-9._/-]*$/;

/**
 * listHolders returns one page of held scopes (see ListHoldersRequest). It throws
 * INVALID_ARGUMENT for a limit out of range, a prefix outside the scope-name character set or
 * length, and INVALID_SCOPE for a page token that is not a scope name.
 */
export function listHolders(state: FsmState, request: ListHoldersRequest = {}): ListHoldersPage {
  const prefix = request.prefix ?? '';
  const limit = request.limit ?? LIST_PAGE_SIZE_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_PAGE_SIZE_MAX) {
    throw new LeadershipError('INVALID_ARGUMENT', `limit is ${limit}; allowed: 1..${LIST_PAGE_SIZE_MAX}`, {
      field: 'limit',
      limit: LIST_PAGE_SIZE_MAX,
    });
  }
  if (prefix.length > SCOPE_NAME_BYTES_MAX || !prefixPattern.test(prefix)) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `prefix must be at most ${SCOPE_NAME_BYTES_MAX} characters from [a-z0-9._/-]`,
      { field: 'prefix', limit: SCOPE_NAME_BYTES_MAX },
    );
  }
  const names = state.sortedScopeNames();
  let at = firstAtOrAfter(names, prefix);
  if (request.pageToken !== undefined) {
    validateScopeName(request.pageToken);
    at = Math.max(at, firstAtOrAfter(names, request.pageToken + '\0'));
  }
  const holders: LeaseView[] = [];
  for (; at < names.length && holders.length < limit; at++) {
    const name = names[at]!;
    if (!name.startsWith(prefix)) {
      break;
    }
    const record = state.scopes.get(name)!;
    if (record.holder !== null) {
      holders.push(leaseView(name, record.scopeTerm, record.holder));
    }
  }
  const more = at < names.length && names[at]!.startsWith(prefix) && holders.length === limit;
  return { holders, nextPageToken: more ? holders[holders.length - 1]!.scope : null };
}

/** scopeView returns the public state of `scope`, or null when the state machine has no record of it. */
export function scopeView(state: FsmState, scope: string): ScopeView | null {
  validateScopeName(scope);
  const record = state.scopes.get(scope);
  if (record === undefined) {
    return null;
  }
  return {
    scope,
    scopeTerm: record.scopeTerm,
    revision: record.revision,
    holder: record.holder === null ? null : leaseView(scope, record.scopeTerm, record.holder),
    waiting: record.queue.toArray(),
  };
}
