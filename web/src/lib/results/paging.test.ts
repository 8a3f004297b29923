import { describe, expect, it } from 'vitest';
import { pageNumber, tabAfterKey } from './paging';

describe('pageNumber', () => {
	it('reads ?page= as a page from 1, anything else as page 1', () => {
		expect(pageNumber('3')).toBe(3);
		for (const raw of [null, '', '0', '-2', '1.5', 'x']) expect(pageNumber(raw), String(raw)).toBe(1);
	});
});

describe('tabAfterKey', () => {
	it('moves with the arrows (wrapping), Home and End; ignores other keys', () => {
		expect(tabAfterKey('ArrowRight', 0, 3)).toBe(1);
		expect(tabAfterKey('ArrowRight', 2, 3)).toBe(0);
		expect(tabAfterKey('ArrowLeft', 0, 3)).toBe(2);
		expect(tabAfterKey('Home', 2, 3)).toBe(0);
		expect(tabAfterKey('End', 0, 3)).toBe(2);
		expect(tabAfterKey('Enter', 1, 3)).toBeNull();
	});
});
