import { get } from 'svelte/store';
import { describe, expect, it } from 'vitest';
import { language, LANGUAGES, pickLanguage, resources, setLanguage, t } from './i18n';

function keys(value: unknown, prefix = ''): string[] {
	if (typeof value !== 'object' || value === null) return [prefix];
	return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

describe('translations', () => {
	it('every language has exactly the English keys, none empty', () => {
		const english = keys(resources.en.translation).sort();
		for (const lang of LANGUAGES) {
			expect(keys(resources[lang].translation).sort(), lang).toEqual(english);
			for (const key of english) {
				const text = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], resources[lang].translation);
				expect(typeof text === 'string' && text.trim().length > 0, `${lang}: ${key}`).toBe(true);
			}
		}
	});

	it('every {{placeholder}} of English is kept in each translation', () => {
		// Keys nest to any depth (player.refusal.*, teacher.host.mode.*).
		const at = (tree: unknown, key: string) =>
			String(key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], tree));
		for (const lang of LANGUAGES) {
			for (const key of keys(resources.en.translation)) {
				const wanted = (at(resources.en.translation, key).match(/{{\w+}}/g) ?? []).sort();
				const found = (at(resources[lang].translation, key).match(/{{\w+}}/g) ?? []).sort();
				expect(found, `${lang}: ${key}`).toEqual(wanted);
			}
		}
	});
});

describe('pickLanguage', () => {
	it('prefers the stored choice', () => {
		expect(pickLanguage('de', ['en-US'])).toBe('de');
	});
	it('takes the first supported browser language, by its base tag', () => {
		expect(pickLanguage(null, ['fr-FR', 'de-AT', 'en'])).toBe('de');
	});
	it('falls back to English, ignoring a stored value it does not know', () => {
		expect(pickLanguage('xx', ['fr', 'es'])).toBe('en');
		expect(pickLanguage(null, [])).toBe('en');
	});
});

describe('switching', () => {
	it('changes what $t returns', async () => {
		await setLanguage('de');
		expect(get(language)).toBe('de');
		expect(get(t)('home.pin_label')).toBe('Spiel-PIN');
		await setLanguage('en');
		expect(get(t)('home.pin_label')).toBe('Game PIN');
		expect(get(t)('errors.unknown', { code: 'boom' })).toBe('Something went wrong (boom).');
	});
});
