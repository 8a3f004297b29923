import { describe, expect, it } from 'vitest';
import { ApiError, apiErrorFrom, bearer, unwrap } from './api';

describe('apiErrorFrom', () => {
	it('reads the server error shape, with field problems', () => {
		const err = apiErrorFrom(422, {
			error: {
				code: 'validation_error',
				message: 'too short (title)',
				details: [
					{ field: 'title', code: 'string_too_short', message: 'too short' },
					{ field: 'questions.0.text', code: 'missing', message: 'required', question_index: 0 }
				]
			}
		});
		expect(err).toBeInstanceOf(ApiError);
		expect([err.status, err.code, err.message]).toEqual([422, 'validation_error', 'too short (title)']);
		expect(err.problemsFor('title').map((p) => p.code)).toEqual(['string_too_short']);
		expect(err.problemsFor('questions.0.text')[0]?.question_index).toBe(0);
	});

	it('gives a usable error for a body that is not ours (a proxy page)', () => {
		const err = apiErrorFrom(502, '<html>Bad gateway</html>');
		expect([err.status, err.code, err.details]).toEqual([502, 'http_502', []]);
	});
});

describe('unwrap', () => {
	it('returns the data of a success', async () => {
		const response = new Response('{}', { status: 200 });
		await expect(unwrap(Promise.resolve({ data: { pin: '123456' }, response }))).resolves.toEqual({
			pin: '123456'
		});
	});

	it('throws the server error of a failure', async () => {
		const response = new Response('', { status: 404 });
		const error = { error: { code: 'game_not_found', message: 'there is no game with this PIN' } };
		await expect(unwrap(Promise.resolve({ error, response }))).rejects.toMatchObject({
			status: 404,
			code: 'game_not_found'
		});
	});

	it('turns an unreachable server into code `network`', async () => {
		await expect(unwrap(Promise.reject(new TypeError('fetch failed')))).rejects.toMatchObject({
			status: 0,
			code: 'network'
		});
	});
});

describe('bearer', () => {
	it('builds the Authorization header', () => {
		expect(bearer('abc')).toEqual({ Authorization: 'Bearer abc' });
	});
});
