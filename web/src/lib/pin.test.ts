import { describe, expect, it } from 'vitest';
import { normalisePin } from './pin';

describe('normalisePin', () => {
	it('accepts six digits, with spaces or a dash as people type them', () => {
		expect(normalisePin('123456')).toBe('123456');
		expect(normalisePin(' 123 456 ')).toBe('123456');
		expect(normalisePin('123-456')).toBe('123456');
	});

	it('refuses anything that is not exactly six digits', () => {
		for (const typed of ['', '12345', '1234567', '12a456', '１２３４５６']) {
			expect(normalisePin(typed), typed).toBeNull();
		}
	});
});
