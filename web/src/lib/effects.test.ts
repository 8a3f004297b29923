import { describe, expect, it } from 'vitest';
import { prefersReducedMotion, qrDataUrl } from './effects';

describe('qrDataUrl', () => {
	it('draws the join link as a PNG, the same link the same way', async () => {
		const url = 'https://quiz.example.org/play?pin=123456';
		const first = await qrDataUrl(url, 256);
		expect(first.startsWith('data:image/png;base64,')).toBe(true);
		expect(await qrDataUrl(url, 256)).toBe(first);
		expect(await qrDataUrl('https://quiz.example.org/play?pin=654321', 256)).not.toBe(first);
	});
});

describe('prefersReducedMotion', () => {
	it('follows the media query, and is false where there is none', () => {
		expect(prefersReducedMotion((q) => ({ matches: q.includes('reduce') }))).toBe(true);
		expect(prefersReducedMotion(() => ({ matches: false }))).toBe(false);
		expect(prefersReducedMotion(undefined)).toBe(false);
	});
});
