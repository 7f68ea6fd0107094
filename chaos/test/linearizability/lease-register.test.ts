import type { LeaseRegisterInput, LeaseRegisterState } from '../../src/linearizability/lease-register';
import { leaseRegisterModel } from '../../src/linearizability/lease-register';

const vacant: LeaseRegisterState = { holder: null, floor: 0n };
const heldByA: LeaseRegisterState = { holder: { candidate: 'a', session: 'sa', fence: 3n }, floor: 3n };
const acquireA: LeaseRegisterInput = { f: 'acquire', candidate: 'a', session: 'sa' };
const acquireB: LeaseRegisterInput = { f: 'acquire', candidate: 'b', session: 'sb' };

describe('leaseRegisterModel', () => {
  it('grants a vacant scope a fence above the floor only', () => {
    expect(leaseRegisterModel.step(vacant, acquireA, { granted: true, fence: 3n })).toEqual([heldByA]);
    expect(
      leaseRegisterModel.step({ holder: null, floor: 3n }, acquireB, { granted: true, fence: 3n }),
    ).toEqual([]);
  });

  it('lets a held lease expire unseen before a grant, but answers "held" only while held', () => {
    expect(leaseRegisterModel.step(heldByA, acquireB, { granted: true, fence: 7n })).toEqual([
      { holder: { candidate: 'b', session: 'sb', fence: 7n }, floor: 7n },
    ]);
    expect(leaseRegisterModel.step(heldByA, acquireB, { granted: false })).toEqual([heldByA]);
    expect(leaseRegisterModel.step(vacant, acquireB, { granted: false })).toEqual([]);
  });

  it('gives the holding session its lease back, and no one else', () => {
    expect(leaseRegisterModel.step(heldByA, acquireA, { granted: true, fence: 3n })).toContainEqual(heldByA);
    expect(
      leaseRegisterModel.step(heldByA, { ...acquireA, session: '' }, { granted: true, fence: 3n }),
    ).toEqual([]);
  });

  it('renews, resigns and validates only the holder fence', () => {
    expect(leaseRegisterModel.step(heldByA, { f: 'renew', fence: 3n }, {})).toEqual([heldByA]);
    expect(leaseRegisterModel.step(heldByA, { f: 'renew', fence: 2n }, {})).toEqual([]);
    expect(leaseRegisterModel.step(heldByA, { f: 'resign', fence: 3n }, {})).toEqual([
      { holder: null, floor: 3n },
    ]);
    // "Not valid" for the holder's own fence fits only if the lease expired unseen.
    expect(leaseRegisterModel.step(heldByA, { f: 'validate', fence: 3n }, { valid: false })).toEqual([
      { holder: null, floor: 3n },
    ]);
    expect(leaseRegisterModel.step(heldByA, { f: 'validate', fence: 3n }, { valid: true })).toEqual([
      heldByA,
    ]);
  });

  it('keeps a timed-out grant as an unnamed holder with an unknown fence and learns both later', () => {
    const states = leaseRegisterModel.step(vacant, acquireA, undefined);
    const unknown = { holder: { candidate: '', session: '', fence: null }, floor: 1n };
    expect(states).toEqual([vacant, unknown]);
    // Any candidate's timed-out acquire has this same effect (the search counts them as one class).
    expect(leaseRegisterModel.step(vacant, acquireB, undefined)).toEqual(states);
    expect(leaseRegisterModel.step(unknown, { f: 'renew', fence: 8n }, {})).toEqual([
      { holder: { candidate: '', session: '', fence: 8n }, floor: 8n },
    ]);
    // The unnamed holder may be anyone: "held" fits, and so does a retry that gets it back.
    expect(leaseRegisterModel.step(unknown, acquireB, { granted: false })).toEqual([unknown]);
    expect(leaseRegisterModel.step(unknown, acquireA, { granted: true, fence: 1n })).toEqual([
      { holder: { candidate: 'a', session: 'sa', fence: 1n }, floor: 1n },
    ]);
    expect(leaseRegisterModel.key(unknown)).not.toBe(leaseRegisterModel.key(heldByA));
  });
});
