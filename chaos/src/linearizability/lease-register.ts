import type { OperationInput, OperationOutput } from '../operations';
import type { Model } from './model';

/**
 * LeaseRegisterInput is one lease operation on one scope, as the model reads it: acquire and
 * campaign name a candidate and session; renew, resign and validate a fence.
 */
export interface LeaseRegisterInput extends OperationInput {
  readonly f: 'acquire' | 'campaign' | 'renew' | 'resign' | 'validate';
}

/**
 * LeaseHolder is the holder the model believes in. `fence` null: granted, but nobody saw its
 * fence. `candidate` '' (and `session` ''): granted by a call that timed out, so whose it is
 * stays open — any candidate may turn out to be it (every such grant has the same effect, which
 * lets the search treat timed-out grants as interchangeable).
 */
export interface LeaseHolder {
  readonly candidate: string;
  readonly session: string;
  readonly fence: bigint | null;
}

/**
 * LeaseRegisterState is one scope's register: its holder (null when vacant) and `floor`, a
 * bound every later grant's fence must exceed (the highest fence granted so far, or a lower
 * bound on it when a grant's fence is unknown).
 */
export interface LeaseRegisterState {
  readonly holder: LeaseHolder | null;
  readonly floor: bigint;
}

/** maybeSameSession: the holder may be this call's candidate in this call's session (a retry). */
function maybeSameSession(holder: LeaseHolder, input: LeaseRegisterInput): boolean {
  if (holder.candidate === '') return true;
  const session = input.session ?? '';
  return session !== '' && holder.session === session && holder.candidate === input.candidate;
}

/** maybeOther: the holder may be someone other than this call's candidate and session. */
function maybeOther(holder: LeaseHolder, input: LeaseRegisterInput): boolean {
  if (holder.candidate === '') return true;
  const session = input.session ?? '';
  return session === '' || holder.session !== session || holder.candidate !== input.candidate;
}

/** matches: `fence` may be the holder's (equal, or the holder's fence is unknown and could be it). */
function matches(state: LeaseRegisterState, fence: bigint): boolean {
  const holder = state.holder;
  if (holder === null) return false;
  return holder.fence === null ? fence >= state.floor : holder.fence === fence;
}

/**
 * resolve learns an unknown holder fence from an answer that named it, and an unnamed holder's
 * candidate and session from a retry that got the lease back.
 */
function resolve(
  state: LeaseRegisterState,
  fence: bigint,
  owner?: { candidate: string; session: string },
): LeaseRegisterState {
  if (state.holder === null || (state.holder.fence !== null && owner === undefined)) return state;
  return {
    holder: { ...state.holder, ...owner, fence },
    floor: fence > state.floor ? fence : state.floor,
  };
}

function grant(state: LeaseRegisterState, input: LeaseRegisterInput, output: OperationOutput | undefined) {
  const candidate = input.candidate ?? '';
  const session = input.session ?? '';
  if (output === undefined) {
    // Unknown outcome: nothing happened, or (into a vacant scope) a grant to an unnamed holder
    // whose fence nobody saw; that fence is above the floor, so later grants are above floor + 1.
    return state.holder === null
      ? [state, { holder: { candidate: '', session: '', fence: null }, floor: state.floor + 1n }]
      : [state];
  }
  if (output.granted === false) {
    return state.holder !== null && maybeOther(state.holder, input) ? [state] : [];
  }
  const fence = output.fence ?? 0n;
  if (state.holder === null) {
    return fence > state.floor ? [{ holder: { candidate, session, fence }, floor: fence }] : [];
  }
  // The same session asking again (a retry) gets its lease back unchanged.
  if (!maybeSameSession(state.holder, input) || !matches(state, fence)) return [];
  return [resolve(state, fence, state.holder.candidate === '' ? { candidate, session } : undefined)];
}

function applyOperation(
  state: LeaseRegisterState,
  input: LeaseRegisterInput,
  output: OperationOutput | undefined,
): LeaseRegisterState[] {
  if (input.f === 'acquire' || input.f === 'campaign') return grant(state, input, output);
  const fence = input.fence ?? 0n;
  switch (input.f) {
    case 'renew':
      if (output === undefined) return [state];
      return matches(state, fence) ? [resolve(state, fence)] : [];
    case 'resign': {
      const vacant = { holder: null, floor: fence > state.floor ? fence : state.floor };
      if (output === undefined) return matches(state, fence) ? [state, vacant] : [state];
      return matches(state, fence) ? [vacant] : [];
    }
    case 'validate':
      if (output === undefined) return [state];
      if (output.valid === true) return matches(state, fence) ? [resolve(state, fence)] : [];
      // "Not valid" fits unless the holder's fence is known to be this one.
      return state.holder === null || state.holder.fence !== fence ? [state] : [];
  }
}

/**
 * leaseRegisterModel is the sequential specification of one scope's lease, as clients see it
 * (chaos/README.md, "The lease register model"). State: the holder (candidate, session, fence)
 * or vacant, and the highest fence granted. Deadlines are not modelled: expiry is a transition
 * the clients never observe, so before any operation the lease *may* have expired (the holder
 * becomes vacant). What the model still forbids is what a split brain or a reused fence shows:
 * a grant whose fence is not above every earlier grant's, a grant or "held" answer that no
 * order explains, and above all a renew, resign or valid validate of a fence after another
 * grant took its place (a lease never comes back).
 */
export const leaseRegisterModel: Model<LeaseRegisterState, LeaseRegisterInput, OperationOutput> = {
  init: () => [{ holder: null, floor: 0n }],
  step: (state, input, output) => {
    const before = state.holder === null ? [state] : [state, { holder: null, floor: state.floor }];
    return before.flatMap((s) => applyOperation(s, input, output));
  },
  key: (state) =>
    JSON.stringify([
      state.holder?.candidate ?? null,
      state.holder?.session ?? null,
      state.holder?.fence?.toString() ?? null,
      state.floor.toString(),
    ]),
};
