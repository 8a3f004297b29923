import { describe, expect, it } from 'vitest';
import { choiceStyle, letterFor, PALETTE_SIZE } from './choices';

/** WCAG 2 relative luminance and contrast ratio. */
function luminance(hex: string): number {
	const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
	const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [
		number,
		number,
		number
	];
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
	const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
	return (hi + 0.05) / (lo + 0.05);
}

describe('choiceStyle', () => {
	it('gives letters A, B, C… in display order', () => {
		expect([0, 1, 2, 5].map((i) => choiceStyle(i).letter)).toEqual(['A', 'B', 'C', 'F']);
	});

	it('keeps text readable on every colour (WCAG AA, 4.5:1)', () => {
		for (let i = 0; i < PALETTE_SIZE; i++) {
			const style = choiceStyle(i);
			expect(contrast(style.fg, style.bg), style.colour).toBeGreaterThanOrEqual(4.5);
		}
	});

	it('never tells two of the first eight choices apart by colour alone', () => {
		const styles = Array.from({ length: PALETTE_SIZE }, (_, i) => choiceStyle(i));
		expect(new Set(styles.map((s) => s.bg)).size).toBe(PALETTE_SIZE);
		expect(new Set(styles.map((s) => s.shape)).size).toBe(PALETTE_SIZE);
		expect(new Set(styles.map((s) => s.path)).size).toBe(PALETTE_SIZE);
	});

	it('wraps around past the palette but keeps the letter unique', () => {
		const ninth = choiceStyle(PALETTE_SIZE);
		expect(ninth.bg).toBe(choiceStyle(0).bg);
		expect(ninth.letter).toBe('I');
	});

	it('refuses a negative or fractional index', () => {
		expect(() => choiceStyle(-1)).toThrow(RangeError);
		expect(() => choiceStyle(1.5)).toThrow(RangeError);
	});
});

describe('letterFor', () => {
	it('continues spreadsheet style after Z', () => {
		expect(letterFor(25)).toBe('Z');
		expect(letterFor(26)).toBe('AA');
		expect(letterFor(27)).toBe('AB');
	});
});
