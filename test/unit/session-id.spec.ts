import { randomUUID } from 'node:crypto';
import { isSessionId } from '../../lib/index.js';
import { createSessionId } from '../../lib/core/session-id.js';

/** RFC 9562's layout of a version 4 UUID, in lower case: the oracle the check must agree with. */
const LOWER_UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('isSessionId', () => {
  it('accepts the ids createSessionId and randomUUID make', () => {
    for (let i = 0; i < 1000; i++) {
      expect(isSessionId(createSessionId())).toBe(true);
      expect(isSessionId(randomUUID())).toBe(true);
    }
  });

  it.each([
    ['an empty string', ''],
    ['one character short', randomUUID().slice(1)],
    ['one character long', `${randomUUID()}0`],
    ['upper case', randomUUID().toUpperCase()],
    ['version 7', '01890a5d-ac96-774b-bcce-b302099a8057'],
    ['variant c', '8f14e45f-ceea-467a-cd7b-3b6e4e6a9c21'],
    ['no dashes, padded to length', `${randomUUID().replaceAll('-', '')}0000`],
    ['braces', `{${randomUUID().slice(1, 35)}}`],
    ['a non-hex letter', '8f14e45f-ceea-467a-9d7b-3b6e4e6a9c2g'],
  ])('refuses %s', (_label, value) => {
    expect(isSessionId(value)).toBe(false);
  });

  it.each([undefined, null, 42, {}, ['8f14e45f-ceea-467a-9d7b-3b6e4e6a9c21']])(
    'refuses a value that is not a string: %p',
    (value) => {
      expect(isSessionId(value)).toBe(false);
    },
  );

  it('agrees with the layout for every character at every position', () => {
    const id = randomUUID();
    for (let at = 0; at < id.length; at++) {
      for (let code = 0; code < 0x180; code++) {
        const value = id.slice(0, at) + String.fromCharCode(code) + id.slice(at + 1);
        expect([value, isSessionId(value)]).toEqual([value, LOWER_UUID_V4.test(value)]);
      }
    }
  });
});
