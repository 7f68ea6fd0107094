import { fenceJson, stepDownJson } from '../../src/format/results';
import { LEASES } from '../support/fixtures';
import { expectLeaseToken } from '../support/lease-token';

describe('the result renderers', () => {
  it('render a step-down in JSON with the DISC-002 names for the previous holder and the successor', () => {
    const successor = LEASES[0]!;
    const body = JSON.parse(
      stepDownJson({
        scope: successor.scope,
        previous: { leaderId: 'old', fenceToken: 40n, candidateId: 'old', fence: 40n },
        successor,
        raftTerm: 5n,
      }),
    ) as Record<string, unknown>;
    expect(body['previous']).toEqual({ leaderId: 'old', fenceToken: '40' });
    expect(expectLeaseToken(body['successor'])).toMatchObject({
      leaderId: successor.leaderId,
      fenceToken: successor.fenceToken.toString(),
      expiresAt: new Date(successor.expiresAtMs).toISOString(),
    });
    expect(body['raftTerm']).toBe('5');
  });

  it('render a fence check in JSON as fenceToken, with the current lease as a lease token', () => {
    const current = LEASES[1]!;
    const body = JSON.parse(
      fenceJson({ scope: current.scope, fence: current.fence - 1n, valid: false, current }),
    ) as Record<string, unknown>;
    expect(body).toMatchObject({ scope: current.scope, fenceToken: '11', valid: false });
    expect(body).not.toHaveProperty('fence');
    expect(expectLeaseToken(body['current'])['leaderId']).toBe('control-a');
  });
});
