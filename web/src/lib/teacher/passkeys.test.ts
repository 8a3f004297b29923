import { describe, expect, it } from 'vitest';
import { base64urlToBytes, bytesToBase64url, creationOptions, requestOptions } from './passkeys';

describe('base64url', () => {
	it('round-trips every byte value, without padding or + and /', () => {
		const bytes = new Uint8Array(256).map((_, i) => i);
		const text = bytesToBase64url(bytes);
		expect(text).not.toMatch(/[+/=]/);
		expect(Array.from(base64urlToBytes(text))).toEqual(Array.from(bytes));
	});
	it('reads what the server writes', () => {
		expect(Array.from(base64urlToBytes('-_8'))).toEqual([0xfb, 0xff]);
		expect(bytesToBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
		expect(bytesToBase64url(new Uint8Array([1, 2, 3, 4]).subarray(1, 3))).toBe('AgM');
	});
});

describe('options', () => {
	it('turns the creation options byte strings into bytes and keeps the rest', () => {
		const options = creationOptions({
			challenge: 'AQID',
			rp: { id: 'quiz.example.org', name: 'ClassQuiz' },
			user: { id: 'BAUG', name: 'ada', displayName: 'ada' },
			pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
			excludeCredentials: [{ type: 'public-key', id: 'Bwg', transports: ['usb'] }],
			authenticatorSelection: { residentKey: 'required', userVerification: 'required' }
		});
		expect(Array.from(options.challenge as Uint8Array)).toEqual([1, 2, 3]);
		expect(Array.from(options.user.id as Uint8Array)).toEqual([4, 5, 6]);
		expect(options.user.name).toBe('ada');
		expect(options.rp.id).toBe('quiz.example.org');
		const [excluded] = options.excludeCredentials ?? [];
		expect(excluded).toBeDefined();
		expect(Array.from(excluded!.id as Uint8Array)).toEqual([7, 8]);
		expect(excluded!.transports).toEqual(['usb']);
		expect(options.authenticatorSelection?.residentKey).toBe('required');
	});
	it('asks for discoverable credentials when the server lists none', () => {
		const options = requestOptions({ challenge: 'AQID', rpId: 'localhost', userVerification: 'required' });
		expect(options.allowCredentials).toEqual([]);
		expect(options.rpId).toBe('localhost');
	});
});
