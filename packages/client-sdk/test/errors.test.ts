import { ERROR_TABLE } from '@omnirelay/server';
import { SERVER_ERROR_CODES } from '../src/index';

describe('error codes', () => {
  it('the SDK knows exactly the codes of the server error table', () => {
    expect([...SERVER_ERROR_CODES].sort()).toEqual(Object.keys(ERROR_TABLE).sort());
  });
});
