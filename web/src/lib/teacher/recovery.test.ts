import { describe, expect, it } from 'vitest';
import { tokenFromHash } from './recovery';

describe('tokenFromHash', () => {
	it('reads the token of a mailed link', () => {
		expect(tokenFromHash('#token=abc_DEF-123')).toBe('abc_DEF-123');
		expect(tokenFromHash('token=abc')).toBe('abc');
		expect(tokenFromHash('#other=1&token=xyz')).toBe('xyz');
	});

	it('decodes what the server escaped', () => {
		expect(tokenFromHash('#token=a%2Db')).toBe('a-b');
	});

	it('is null without a token', () => {
		expect(tokenFromHash('')).toBeNull();
		expect(tokenFromHash('#')).toBeNull();
		expect(tokenFromHash('#token=')).toBeNull();
		expect(tokenFromHash('#token=%20')).toBeNull();
	});
});
