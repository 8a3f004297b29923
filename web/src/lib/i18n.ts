/**
 * Every string the app shows goes through here (i18next), so a translation is
 * one JSON file: `locales/<lang>.json`. English is the reference and the
 * fallback; i18n.test.ts checks that every language has exactly its keys, and
 * the typed `t` below makes a key that is not in en.json a type error.
 *
 * The language is the user's choice (kept in localStorage) or else the first of
 * the browser's languages we have, else English. Components read `$t` (a store,
 * so they redraw when the language changes).
 */
import i18next, { type TFunction } from 'i18next';
import { derived, get, writable, type Readable } from 'svelte/store';
import de from './locales/de.json';
import en from './locales/en.json';

declare module 'i18next' {
	interface CustomTypeOptions {
		resources: { translation: typeof en };
		returnNull: false;
	}
}

export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';
const STORAGE_KEY = 'cq:language';

export const resources = { en: { translation: en }, de: { translation: de } } as const;

function isLanguage(value: string | null | undefined): value is Language {
	return !!value && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * The language to start in: the stored choice, else the first browser language
 * we support (`de-AT` counts as `de`), else English.
 */
export function pickLanguage(stored: string | null, browser: readonly string[]): Language {
	if (isLanguage(stored)) return stored;
	for (const tag of browser) {
		const base = tag.toLowerCase().split('-')[0];
		if (isLanguage(base)) return base;
	}
	return DEFAULT_LANGUAGE;
}

function storedChoice(): string | null {
	try {
		return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
	} catch {
		return null; // storage blocked (private mode, policies)
	}
}

function browserLanguages(): readonly string[] {
	const nav = globalThis.navigator;
	return nav?.languages?.length ? nav.languages : nav?.language ? [nav.language] : [];
}

const instance = i18next.createInstance();
void instance.init({
	resources,
	lng: pickLanguage(storedChoice(), browserLanguages()),
	fallbackLng: DEFAULT_LANGUAGE,
	supportedLngs: [...LANGUAGES],
	initAsync: false, // resources are bundled: ready before the first render
	interpolation: { escapeValue: false } // Svelte escapes what it renders
});

/** The current language (a store). Change it with `setLanguage`. */
export const language = writable<Language>(instance.language as Language);

/** The translate function of the current language: `$t('home.title')`. */
export const t: Readable<TFunction> = derived(language, (lang): TFunction => instance.getFixedT(lang));

/** Switch the language, remember the choice and tell assistive technology (`<html lang>`). */
export async function setLanguage(lang: Language): Promise<void> {
	await instance.changeLanguage(lang);
	try {
		globalThis.localStorage?.setItem(STORAGE_KEY, lang);
	} catch {
		// not remembered, but still switched
	}
	if (typeof document !== 'undefined') document.documentElement.lang = lang;
	language.set(lang);
}

/** Translate outside components (e.g. in modules); components use `$t`. */
export function translate(...args: Parameters<TFunction>): string {
	return get(t)(...args) as string;
}

if (typeof document !== 'undefined') document.documentElement.lang = instance.language;
