import { describe, expect, it } from 'vitest';
import { ApiError } from '$lib/api';
import { fieldFor, formErrors, messageFor, type Translate } from './errors';

// A translate function over a small table: missing keys give the defaultValue, as i18next does.
const table: Record<string, string> = {
	'teacher.errors.username_taken': 'Taken.',
	'teacher.errors.register.password.string_too_short': 'At least 8.',
	'teacher.errors.password.string_too_short': 'Enter your password.',
	'teacher.errors.rate_limited': 'Wait.',
	'errors.network': 'Offline.',
	'errors.unknown': 'Unknown ({{code}}).'
};
const t: Translate = (key, options) =>
	table[key] ?? (options && 'defaultValue' in options ? String(options.defaultValue) : key);

describe('fieldFor', () => {
	const fields = ['settings.nicknames', 'settings.nicknames.roster', 'settings.password'];
	it('takes the longest field a server path starts with', () => {
		expect(fieldFor('settings.nicknames.roster.3', fields)).toBe('settings.nicknames.roster');
		expect(fieldFor('settings.nicknames', fields)).toBe('settings.nicknames');
		expect(fieldFor('settings.nicknames.min_length', fields)).toBe('settings.nicknames');
	});
	it('does not confuse a field with one whose name it begins', () => {
		expect(fieldFor('settings.passwords', fields)).toBeNull();
		expect(fieldFor(null, fields)).toBeNull();
	});
});

describe('messageFor', () => {
	it('prefers the form scope, then the field, then the code, then the server', () => {
		expect(messageFor(t, 'password', 'string_too_short', 'srv', 'register')).toBe('At least 8.');
		expect(messageFor(t, 'password', 'string_too_short', 'srv', 'login')).toBe('Enter your password.');
		expect(messageFor(t, 'username', 'username_taken', 'srv')).toBe('Taken.');
		expect(messageFor(t, 'email', 'value_error', 'not an email')).toBe('not an email');
	});
});

describe('formErrors', () => {
	it('puts each 422 detail next to its field and the rest on the form', () => {
		const error = new ApiError(422, 'validation_error', 'x', [
			{ field: 'password', code: 'string_too_short', message: 'short' },
			{ field: 'password', code: 'other', message: 'second problem is not shown' },
			{ field: 'email', code: 'value_error', message: 'not an email' },
			{ field: 'nonsense', code: 'extra_forbidden', message: 'unexpected' }
		]);
		expect(formErrors(error, ['email', 'username', 'password'], t, 'register')).toEqual({
			fields: { password: 'At least 8.', email: 'not an email' },
			general: 'unexpected'
		});
	});
	it('places a 409 without details by its code', () => {
		const error = new ApiError(409, 'username_taken', 'this username is taken');
		expect(formErrors(error, ['email', 'username'], t)).toEqual({ fields: { username: 'Taken.' }, general: null });
	});
	it('puts refusals about no field, and network failures, on the form', () => {
		expect(formErrors(new ApiError(429, 'rate_limited', 'slow down'), ['email'], t).general).toBe('Wait.');
		expect(formErrors(new ApiError(0, 'network', 'fetch failed'), ['email'], t).general).toBe('Offline.');
		expect(formErrors(new ApiError(500, 'internal', ''), [], t).general).toBe('Unknown ({{code}}).');
	});
});
