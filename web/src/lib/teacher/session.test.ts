import { describe, expect, it } from 'vitest';
import { nextPath } from './session';

describe('nextPath', () => {
	it('returns to a page of this site', () => {
		expect(nextPath('/account')).toBe('/account');
		expect(nextPath('/quizzes?x=1')).toBe('/quizzes?x=1');
	});
	it('never leads to another site, and defaults to the quiz list', () => {
		for (const raw of [null, '', 'https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)']) {
			expect(nextPath(raw)).toBe('/quizzes');
		}
	});
});
