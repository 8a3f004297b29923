import { describe, expect, it } from 'vitest';
import { defaultHostForm, parseList, settingsFrom } from './hostSettings';

describe('parseList', () => {
	it('takes one entry per line, trimmed, without blanks or repeats (any case)', () => {
		expect(parseList(' Ada \r\n\nGrace\nada\n  \nLinus\r')).toEqual(['Ada', 'Grace', 'Linus']);
	});
	it('keeps commas in roster names, splits on them when asked', () => {
		expect(parseList('Doe, Jane\nRoe, Rick')).toEqual(['Doe, Jane', 'Roe, Rick']);
		expect(parseList('darn, heck\nblast', { commas: true })).toEqual(['darn', 'heck', 'blast']);
	});
});

describe('settingsFrom', () => {
	it('an untouched form is the server default (max_players left to the server)', () => {
		const settings = settingsFrom(defaultHostForm());
		expect(settings).toEqual({
			nicknames: {
				mode: 'free',
				min_length: 1,
				max_length: 20,
				charset: 'any',
				filter_profanity: true,
				blocklist: [],
				roster: [],
				roster_picker: true
			},
			password: null,
			lock_on_start: false,
			randomize_questions: false,
			randomize_choices: false,
			streak_bonus: true,
			auto_end_question: true,
			captcha: false
		});
		expect('max_players' in settings).toBe(false);
	});
	it('sends every setting the teacher changed', () => {
		const form = {
			...defaultHostForm(),
			mode: 'roster' as const,
			roster: 'Ada\nGrace',
			blocklist: 'darn, heck',
			password: 'owl',
			maxPlayers: 30,
			lockOnStart: true,
			autoEndQuestion: false
		};
		const settings = settingsFrom(form);
		expect(settings.nicknames?.roster).toEqual(['Ada', 'Grace']);
		expect(settings.nicknames?.blocklist).toEqual(['darn', 'heck']);
		expect([settings.password, settings.max_players, settings.lock_on_start, settings.auto_end_question]).toEqual([
			'owl',
			30,
			true,
			false
		]);
	});
	it('drops a roster pasted and then abandoned for free names', () => {
		const settings = settingsFrom({ ...defaultHostForm(), roster: 'Ada\nGrace', mode: 'free' });
		expect(settings.nicknames?.roster).toEqual([]);
	});
});
