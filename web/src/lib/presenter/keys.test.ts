import { describe, expect, it } from 'vitest';
import { hostPinFromHash, hostTokenFromHash, isTypingTarget } from './keys';

describe('host token from the fragment', () => {
	it('reads #token=…, with or without the #, and keeps token characters intact', () => {
		expect(hostTokenFromHash('#token=abc.DEF-_123')).toBe('abc.DEF-_123');
		expect(hostTokenFromHash('token=xyz')).toBe('xyz');
		expect(hostTokenFromHash('#lang=de&token=t1')).toBe('t1');
	});

	it('is null without a token', () => {
		expect(hostTokenFromHash('')).toBeNull();
		expect(hostTokenFromHash('#token=')).toBeNull();
		expect(hostTokenFromHash('#main')).toBeNull();
	});
});

describe('game PIN from the fragment', () => {
	it('reads a six-digit pin beside the token and ignores anything else', () => {
		expect(hostPinFromHash('#token=abc&pin=012345')).toBe('012345');
		expect(hostPinFromHash('#token=abc')).toBeNull();
		expect(hostPinFromHash('#token=abc&pin=12345x')).toBeNull();
		expect(hostPinFromHash('#pin=1234567')).toBeNull();
	});
});

describe('typing targets', () => {
	it('are fields, not buttons or the page', () => {
		expect(isTypingTarget({ tagName: 'INPUT' } as unknown as EventTarget)).toBe(true);
		expect(isTypingTarget({ tagName: 'TEXTAREA' } as unknown as EventTarget)).toBe(true);
		expect(isTypingTarget({ tagName: 'DIV', isContentEditable: true } as unknown as EventTarget)).toBe(true);
		expect(isTypingTarget({ tagName: 'BUTTON' } as unknown as EventTarget)).toBe(false);
		expect(isTypingTarget({ tagName: 'BODY' } as unknown as EventTarget)).toBe(false);
		expect(isTypingTarget(null)).toBe(false);
	});
});
