/**
 * What the presenter shows after a question: `question_ended.distribution` turned
 * into bars, and the leaderboard's movement since the last question.
 *
 * The server's distribution is a flat map of key → count whose key means something
 * different per question type (docs/protocol.md, "question_ended"): a choice id, the
 * ids of an order joined by commas, a normalised text, or a slider value. Shaping it
 * here, as pure functions, keeps the screen a plain loop over bars and lets the
 * rules (which bar is right, how a slider is binned) be unit-tested without a browser.
 */
import type { LeaderboardEntry, PublicQuestion, SliderCorrect } from '$lib/generated/socket';

export type Correct = number[] | string[] | SliderCorrect | null;
type Counts = { [key: string]: number | undefined };

export interface ChoiceBar {
	/** The choice id (its authored position). */
	id: number;
	/** Display position: the colour, shape and letter (choices.ts). */
	index: number;
	text: string;
	count: number;
	/** Bar length, 0..1 of the longest bar. */
	share: number;
	correct: boolean;
}

export interface HistogramBin {
	from: number;
	to: number;
	count: number;
	share: number;
	/** The bin overlaps the accepted range (correct ± tolerance). */
	correct: boolean;
}

export interface ListedAnswer {
	/** What was answered: a text, or an order's choice texts. */
	label: string[];
	count: number;
	share: number;
	correct: boolean;
}

export type RevealBars =
	| { kind: 'choices'; bars: ChoiceBar[] }
	| { kind: 'histogram'; bins: HistogramBin[]; accepted: SliderCorrect | null }
	| { kind: 'texts'; answers: ListedAnswer[]; others: number }
	| { kind: 'sequences'; answers: ListedAnswer[]; others: number };

/** At most this many text answers or orders are listed; the rest are counted as "others". */
export const MAX_LISTED = 8;
/** A slider's histogram has at most this many bins. */
export const MAX_BINS = 10;

const count = (counts: Counts, key: string): number => counts[key] ?? 0;
const shareOf = (value: number, max: number): number => (max > 0 ? value / max : 0);

/**
 * The server's text comparison, approximated for marking the list: Unicode NFKC,
 * lower case, trimmed, inner whitespace collapsed. (The server case-folds; lower
 * case differs only for rare letters such as ß, where at worst a mark is missing.)
 */
export function normaliseText(text: string): string {
	return text.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
}

function isSliderCorrect(correct: Correct): correct is SliderCorrect {
	return correct !== null && !Array.isArray(correct) && typeof correct === 'object';
}

/** Shape the distribution of `question` for display. */
export function revealBars(question: PublicQuestion, distribution: Counts, correct: Correct): RevealBars {
	switch (question.type) {
		case 'slider':
			return sliderHistogram(question, distribution, isSliderCorrect(correct) ? correct : null);
		case 'text':
			return textList(distribution, Array.isArray(correct) ? correct.map(String) : []);
		case 'order':
			return sequenceList(question, distribution, Array.isArray(correct) ? correct.map(Number) : []);
		default:
			return choiceBars(question, distribution, Array.isArray(correct) ? correct.map(Number) : []);
	}
}

/** One bar per choice, in display order (single, multiple, true_false, poll). */
export function choiceBars(question: PublicQuestion, distribution: Counts, correctIds: number[]): RevealBars {
	const counts = question.choices.map((choice) => count(distribution, String(choice.id)));
	const max = Math.max(0, ...counts);
	const right = new Set(correctIds);
	return {
		kind: 'choices',
		bars: question.choices.map((choice, index) => ({
			id: choice.id,
			index,
			text: choice.text,
			count: counts[index]!,
			share: shareOf(counts[index]!, max),
			correct: right.has(choice.id)
		}))
	};
}

/**
 * A histogram of slider answers over the slider's range: at most MAX_BINS bins, each
 * a whole number of steps wide, so a value on the step grid never sits on a border
 * ambiguously. Values outside the range (there should be none) go to the edge bins.
 */
export function sliderHistogram(question: PublicQuestion, distribution: Counts, accepted: SliderCorrect | null): RevealBars {
	const slider = question.slider ?? { min: 0, max: 100, step: 1 };
	const { min, max } = slider;
	const step = slider.step > 0 ? slider.step : 1;
	const stepsInRange = Math.max(1, Math.round((max - min) / step) + 1);
	const stepsPerBin = Math.ceil(stepsInRange / MAX_BINS);
	const binCount = Math.ceil(stepsInRange / stepsPerBin);
	const width = stepsPerBin * step;
	const bins: HistogramBin[] = Array.from({ length: binCount }, (_, i) => {
		const from = min + i * width;
		const to = Math.min(max, from + width - step);
		return { from: round(from), to: round(to), count: 0, share: 0, correct: false };
	});
	for (const [key, n] of Object.entries(distribution)) {
		const value = Number(key);
		if (!Number.isFinite(value) || !n) continue;
		const i = Math.min(binCount - 1, Math.max(0, Math.floor((value - min + step / 2) / width)));
		bins[i]!.count += n;
	}
	const top = Math.max(0, ...bins.map((b) => b.count));
	for (const [i, bin] of bins.entries()) {
		bin.share = shareOf(bin.count, top);
		if (accepted) {
			const low = accepted.correct - accepted.tolerance;
			const high = accepted.correct + accepted.tolerance;
			// The bin covers [from, next bin's from); the last one up to max.
			const binEnd = i === binCount - 1 ? max : min + (i + 1) * width;
			bin.correct = low < binEnd && high >= bin.from;
		}
	}
	return { kind: 'histogram', bins, accepted };
}

function round(value: number): number {
	return Math.round(value * 1e6) / 1e6;
}

function topAnswers(entries: Array<{ label: string[]; count: number; correct: boolean }>): {
	answers: ListedAnswer[];
	others: number;
} {
	const sorted = entries
		.filter((e) => e.count > 0)
		.sort((a, b) => b.count - a.count || Number(b.correct) - Number(a.correct) || a.label.join().localeCompare(b.label.join()));
	const shown = sorted.slice(0, MAX_LISTED);
	const max = shown[0]?.count ?? 0;
	const others = sorted.slice(MAX_LISTED).reduce((sum, e) => sum + e.count, 0);
	return { answers: shown.map((e) => ({ ...e, share: shareOf(e.count, max) })), others };
}

/** Text answers, most given first, the accepted ones marked. */
export function textList(distribution: Counts, acceptedAnswers: string[]): RevealBars {
	const accepted = new Set(acceptedAnswers.map(normaliseText));
	const entries = Object.entries(distribution).map(([text, n]) => ({
		label: [text],
		count: n ?? 0,
		correct: accepted.has(normaliseText(text))
	}));
	return { kind: 'texts', ...topAnswers(entries) };
}

/** Submitted orders as sequences of choice texts, most given first, the right one marked. */
export function sequenceList(question: PublicQuestion, distribution: Counts, correctOrder: number[]): RevealBars {
	const textOf = new Map(question.choices.map((c) => [c.id, c.text]));
	const right = correctOrder.join(',');
	const entries = Object.entries(distribution).map(([key, n]) => ({
		label: key.split(',').map((id) => textOf.get(Number(id)) ?? id),
		count: n ?? 0,
		correct: key === right
	}));
	const listed = topAnswers(entries);
	// The right order is listed even when nobody (or too few to be listed) found it,
	// so the room learns it.
	if (correctOrder.length && !listed.answers.some((e) => e.correct)) {
		const found = entries.find((e) => e.correct);
		if (found) listed.others -= found.count;
		listed.answers.push({
			label: correctOrder.map((id) => textOf.get(id) ?? String(id)),
			count: found?.count ?? 0,
			share: shareOf(found?.count ?? 0, listed.answers[0]?.count ?? 0),
			correct: true
		});
	}
	return { kind: 'sequences', ...listed };
}

/** The texts of the correct answer, for the line "Correct answer: …" (empty for a poll). */
export function correctLabels(question: PublicQuestion, correct: Correct): string[] {
	if (correct === null) return [];
	if (isSliderCorrect(correct)) {
		return [correct.tolerance ? `${correct.correct} ± ${correct.tolerance}` : String(correct.correct)];
	}
	if (question.type === 'text') return correct.map(String);
	const textOf = new Map(question.choices.map((c) => [c.id, c.text]));
	return correct.map((id) => textOf.get(Number(id)) ?? String(id));
}

export type Movement = { kind: 'up' | 'down'; by: number } | { kind: 'same' } | { kind: 'new' } | { kind: 'none' };

/**
 * How each leaderboard entry moved since the last question, from the ranks then
 * (`previous`, player id → rank; null before the first reveal, or after a reload
 * that lost them). A player not ranked then is `new`.
 */
export function movements(entries: readonly LeaderboardEntry[], previous: ReadonlyMap<string, number> | null): Movement[] {
	return entries.map((entry) => {
		if (!previous) return { kind: 'none' };
		const before = previous.get(entry.player_id);
		if (before === undefined) return { kind: 'new' };
		if (before === entry.rank) return { kind: 'same' };
		return before > entry.rank ? { kind: 'up', by: before - entry.rank } : { kind: 'down', by: entry.rank - before };
	});
}

/** Player id → rank, to compare the next reveal with. */
export function rankMap(entries: readonly LeaderboardEntry[]): Map<string, number> {
	return new Map(entries.map((e) => [e.player_id, e.rank]));
}

/** The part of the Web Storage API the rank memory needs (sessionStorage in the page). */
export type RankStore = Pick<Storage, 'getItem' | 'setItem'>;

const ranksKey = (gameId: string) => `cq:host:ranks:${gameId}`;

/**
 * Keep the ranks of reveal `index` in the tab's session storage, so a presenter that
 * reloads during the next reveal can still show movement. Only the two latest reveals
 * are kept: the one before the current reveal is all that movement needs.
 */
export function saveRanks(store: RankStore, gameId: string, index: number, ranks: ReadonlyMap<string, number>): void {
	try {
		const kept: Record<string, [string, number][]> = JSON.parse(store.getItem(ranksKey(gameId)) ?? '{}');
		kept[String(index)] = [...ranks];
		const latest = Object.keys(kept).map(Number).sort((a, b) => b - a).slice(0, 2);
		const trimmed = Object.fromEntries(latest.map((i) => [String(i), kept[String(i)]]));
		store.setItem(ranksKey(gameId), JSON.stringify(trimmed));
	} catch {
		// Storage full, disabled or holding garbage: movement after a reload is a nicety.
	}
}

/** The ranks kept for reveal `index`, or null (never seen in this tab). */
export function loadRanks(store: RankStore, gameId: string, index: number): Map<string, number> | null {
	try {
		const kept: Record<string, [string, number][]> = JSON.parse(store.getItem(ranksKey(gameId)) ?? '{}');
		const entries = kept[String(index)];
		return Array.isArray(entries) ? new Map(entries) : null;
	} catch {
		return null;
	}
}
