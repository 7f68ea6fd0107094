import { CampaignClaims } from '../../src/leadership/campaign-claims';

/** gate is a withdraw that settles when `open` is called, and records that it ran. */
function gate(): { propose: () => Promise<void>; open: () => void; ran: () => boolean } {
  let open: () => void = () => undefined;
  let ran = false;
  const settled = new Promise<void>((resolve) => (open = resolve));
  return {
    propose: () => {
      ran = true;
      return settled;
    },
    open: () => open(),
    ran: () => ran,
  };
}

describe('CampaignClaims', () => {
  it('does not withdraw a place another call of the session still claims; the last call to leave does', async () => {
    const claims = new CampaignClaims();
    const first = claims.claim('s', 'w', 'session');
    const second = claims.claim('s', 'w', 'session');
    const skipped = gate();
    await first.withdraw(skipped.propose);
    expect(skipped.ran()).toBe(false);
    const last = gate();
    const withdrawn = second.withdraw(last.propose);
    expect(last.ran()).toBe(true);
    last.open();
    await withdrawn;
    expect(claims.claimedPlaces).toBe(0);
  });

  it('makes a new claim wait until the withdraw in flight for its place has settled', async () => {
    const claims = new CampaignClaims();
    const withdraw = gate();
    const withdrawn = claims.claim('s', 'w', 'session').withdraw(withdraw.propose);
    const next = claims.claim('s', 'w', 'session');
    let ready = false;
    const waiting = next.ready().then(() => (ready = true));
    // Another place is not held up by it.
    await claims.claim('s', 'other', 'session').ready();
    await Promise.resolve();
    expect(ready).toBe(false);
    withdraw.open();
    await Promise.all([withdrawn, waiting]);
    expect(ready).toBe(true);
    next.release();
    next.release();
    expect(claims.claimedPlaces).toBe(1);
  });

  it('always withdraws a campaign without a session, which claims nothing', async () => {
    const claims = new CampaignClaims();
    const a = claims.claim('s', 'w', undefined);
    claims.claim('s', 'w', undefined);
    const withdraw = gate();
    withdraw.open();
    await a.withdraw(withdraw.propose);
    expect(withdraw.ran()).toBe(true);
    expect(claims.claimedPlaces).toBe(0);
  });
});
