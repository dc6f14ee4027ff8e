import { describe, expect, it } from 'vitest';
import { COMMON_PASSWORD_COUNT, isCommonPassword, passwordProblem } from './password-policy.ts';

describe('the password policy', () => {
  it('knows the most common passwords, whatever their case', () => {
    for (const password of ['123456', 'password', '12345678', 'qwerty', 'iloveyou', 'Dragon', 'LETMEIN']) expect(isCommonPassword(password), password).toBe(true);
  });

  it('takes the 10,000 most common, not the whole dictionary', async () => {
    const { dictionary } = await import('@zxcvbn-ts/language-common');
    const list = dictionary['passwords-common'];
    expect(list.length).toBeGreaterThan(COMMON_PASSWORD_COUNT);
    expect(isCommonPassword(list[COMMON_PASSWORD_COUNT - 1]!)).toBe(true);
    const beyond = list.slice(COMMON_PASSWORD_COUNT).find((p) => !list.slice(0, COMMON_PASSWORD_COUNT).some((q) => q.toLowerCase() === p.toLowerCase()));
    expect(isCommonPassword(beyond!)).toBe(false);
  });

  it('lets the demo password and the passwords tests use through', () => {
    for (const password of ['strata-demo', 'correct horse battery', 'a dashboard password', 'long enough password', 'benchmark password']) {
      expect(passwordProblem(password), password).toBeNull();
    }
  });

  it('says what is wrong', () => {
    expect(passwordProblem('short')).toBe('must be at least 8 characters');
    expect(passwordProblem(' '.repeat(8))).toBe('must not be blank');
    expect(passwordProblem('x'.repeat(257))).toBe('must be at most 256 characters');
    expect(passwordProblem('12345678')).toBe('this password is too common');
  });
});
