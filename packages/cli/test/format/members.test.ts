import { membersJson, membersTable } from '../../src/format/members';
import { expectGolden } from '../support/golden';
import { MEMBERS_FROM_FOLLOWER, MEMBERS_FROM_LEADER } from '../support/fixtures';

describe('the members renderers', () => {
  it('render the table sorted by id, with the leader and replication progress', () => {
    expectGolden('members-table', membersTable(MEMBERS_FROM_LEADER) + membersTable(MEMBERS_FROM_FOLLOWER));
  });

  it('render the JSON document sorted by id', () => {
    expectGolden('members-json', membersJson(MEMBERS_FROM_LEADER));
  });
});
