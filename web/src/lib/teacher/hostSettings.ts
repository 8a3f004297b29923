/**
 * The Host dialog's form and the game settings it sends (`POST /api/v1/games`).
 * Pure functions, so the rules about pasted lists are tested without a browser.
 */
import type { Schemas } from '$lib/api';

export type GameSettings = Schemas['GameSettings'];
export type NicknameMode = Schemas['NicknameSettings']['mode'];
export type Charset = Schemas['NicknameSettings']['charset'];

/** What the dialog edits: the settings, with lists as the text the teacher pasted. */
export interface HostForm {
	mode: NicknameMode;
	minLength: number;
	maxLength: number;
	charset: Charset;
	filterProfanity: boolean;
	blocklist: string;
	roster: string;
	/** Roster mode: phones offer the free names as a list (GET /games/{pin}). */
	rosterPicker: boolean;
	password: string;
	maxPlayers: number | null;
	lockOnStart: boolean;
	randomizeQuestions: boolean;
	randomizeChoices: boolean;
	streakBonus: boolean;
	autoEndQuestion: boolean;
	/** New players solve a captcha first (needs a provider set up on the server). */
	captcha: boolean;
}

/** The server's defaults (SPEC §3), so an untouched dialog starts the usual game. */
export function defaultHostForm(): HostForm {
	return {
		mode: 'free',
		minLength: 1,
		maxLength: 20,
		charset: 'any',
		filterProfanity: true,
		blocklist: '',
		roster: '',
		rosterPicker: true,
		password: '',
		maxPlayers: null,
		lockOnStart: false,
		randomizeQuestions: false,
		randomizeChoices: false,
		streakBonus: true,
		autoEndQuestion: true,
		captcha: false
	};
}

/**
 * The entries of a pasted list: one per line (a class list copied from a
 * spreadsheet column), trimmed, blank lines dropped, repeats (ignoring case)
 * kept once. With `commas`, a comma also separates (a blocklist typed inline);
 * roster names keep theirs ("Doe, Jane" is one pupil).
 */
export function parseList(text: string, { commas = false } = {}): string[] {
	const parts = text.split(commas ? /[\r\n,]+/ : /\r?\n|\r/);
	const seen = new Set<string>();
	const out: string[] = [];
	for (const part of parts) {
		const entry = part.trim();
		const key = entry.toLocaleLowerCase();
		if (entry && !seen.has(key)) {
			seen.add(key);
			out.push(entry);
		}
	}
	return out;
}

/** The settings as sent: `max_players` may be left out (the server's default then). */
export type SettingsOut = Omit<GameSettings, 'max_players'> & { max_players?: number };

/**
 * The settings to send. An empty password means none; an empty maximum means
 * the server's default (never above its cap). The roster goes only with roster mode (a list pasted and
 * then abandoned for free names must not restrict the game). Numbers go as
 * typed: the server says what is out of range, next to the field.
 */
export function settingsFrom(form: HostForm): SettingsOut {
	const maxPlayers = form.maxPlayers;
	return {
		nicknames: {
			mode: form.mode,
			min_length: form.minLength,
			max_length: form.maxLength,
			charset: form.charset,
			filter_profanity: form.filterProfanity,
			blocklist: parseList(form.blocklist, { commas: true }),
			roster: form.mode === 'roster' ? parseList(form.roster) : [],
			roster_picker: form.rosterPicker
		},
		password: form.password === '' ? null : form.password,
		...(maxPlayers === null || maxPlayers === undefined || Number.isNaN(maxPlayers)
			? {}
			: { max_players: maxPlayers }),
		lock_on_start: form.lockOnStart,
		randomize_questions: form.randomizeQuestions,
		randomize_choices: form.randomizeChoices,
		streak_bonus: form.streakBonus,
		auto_end_question: form.autoEndQuestion,
		captcha: form.captcha
	};
}
