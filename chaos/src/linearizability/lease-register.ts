import type { OperationInput, OperationOutput } from '../operations';
import type { Model } from './model';

/**
 * LeaseRegisterInput is one lease operation on one scope, as the model reads it: acquire and
 * campaign name a candidate and session; renew, resign and validate a fence.
 */
export interface LeaseRegisterInput extends OperationInput {
  readonly f: 'acquire' | 'campaign' | 'renew' | 'resign' | 'validate';
}

/** LeaseHolder is the holder the model believes in; `fence` null: granted, but nobody saw its fence. */
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

function sameSession(holder: LeaseHolder, input: LeaseRegisterInput): boolean {
  const session = input.session ?? '';
  return session !== '' && holder.session === session && holder.candidate === input.candidate;
}

/** matches: `fence` may be the holder's (equal, or the holder's fence is unknown and could be it). */
function matches(state: LeaseRegisterState, fence: bigint): boolean {
  const holder = state.holder;
  if (holder === null) return false;
  return holder.fence === null ? fence >= state.floor : holder.fence === fence;
}

/** resolve learns an unknown holder fence from an answer that named it. */
function resolve(state: LeaseRegisterState, fence: bigint): LeaseRegisterState {
  if (state.holder === null || state.holder.fence !== null) return state;
  return { holder: { ...state.holder, fence }, floor: fence > state.floor ? fence : state.floor };
}

function grant(state: LeaseRegisterState, input: LeaseRegisterInput, output: OperationOutput | undefined) {
  const candidate = input.candidate ?? '';
  const session = input.session ?? '';
  if (output === undefined) {
    // Unknown outcome: nothing happened, or (into a vacant scope) a grant whose fence nobody
    // saw; that fence is above the floor, so every later grant is above floor + 1.
    return state.holder === null
      ? [state, { holder: { candidate, session, fence: null }, floor: state.floor + 1n }]
      : [state];
  }
  if (output.granted === false) {
    return state.holder !== null && !sameSession(state.holder, input) ? [state] : [];
  }
  const fence = output.fence ?? 0n;
  if (state.holder === null) {
    return fence > state.floor ? [{ holder: { candidate, session, fence }, floor: fence }] : [];
  }
  // The same session asking again (a retry) gets its lease back unchanged.
  return sameSession(state.holder, input) && matches(state, fence) ? [resolve(state, fence)] : [];
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
