/**
 * What the Questions tab draws for each stored question, computed from the stats
 * the server returns (GET /api/v1/results/{game_id}): pure functions, so the
 * shapes of the charts are tested without a browser.
 *
 * A distribution is keyed by choice id for single, true/false and poll questions
 * (and per chosen id for multiple), by the comma-joined id sequence for order, by
 * the normalised text for text answers and by the value for sliders. The stored
 * question carries its choice texts (`choices`), so a label never depends on the
 * quiz as it is today.
 */
import type { Schemas } from '$lib/api';

export type QuestionStats = Schemas['QuestionStatsOut'];

export interface Bar {
	/** The distribution key (choice id, joined ids, text or value). */
	key: string;
	label: string;
	count: number;
	/** Share of the largest bar, 0..1: the bar's length. */
	width: number;
	/** True for the right answer, false for a wrong one, null when there is none (polls). */
	correct: boolean | null;
	/** The choice id, for its colour/shape/letter; null for text, slider and order. */
	choiceId: number | null;
}

export type Chart =
	| { kind: 'choices'; bars: Bar[] }
	| { kind: 'sequences'; bars: Bar[] }
	| { kind: 'texts'; bars: Bar[] }
	| { kind: 'histogram'; bars: Bar[]; correctValue: number | null; tolerance: number };

const CHOICE_TYPES = new Set(['single', 'multiple', 'true_false', 'poll']);

function widths(bars: Omit<Bar, 'width'>[]): Bar[] {
	const top = Math.max(0, ...bars.map((b) => b.count));
	return bars.map((b) => ({ ...b, width: top > 0 ? b.count / top : 0 }));
}

function labelOf(q: QuestionStats, id: number): string {
	return q.choices?.find((c) => c.id === id)?.text ?? `#${id + 1}`;
}

function choiceIds(q: QuestionStats): number[] {
	const ids = (q.choices ?? []).map((c) => c.id);
	// A game stored before choices were kept: the ids the distribution names.
	for (const key of Object.keys(q.distribution)) {
		const id = Number(key);
		if (Number.isInteger(id) && !ids.includes(id)) ids.push(id);
	}
	return ids.sort((a, b) => a - b);
}

function isCorrectChoice(q: QuestionStats, id: number): boolean | null {
	if (q.type === 'poll' || !Array.isArray(q.correct)) return null;
	return (q.correct as unknown[]).includes(id);
}

/** A bucket of the slider histogram: values from `from` to `to` (inclusive). */
export interface Bin {
	from: number;
	to: number;
	count: number;
}

/**
 * Slider answers grouped into at most `maxBins` equal ranges over the values given
 * (each distinct value its own bar when there are few enough of them).
 */
export function histogram(distribution: Record<string, number>, maxBins = 10): Bin[] {
	const points = Object.entries(distribution)
		.map(([k, n]) => [Number(k), n] as const)
		.filter(([v]) => Number.isFinite(v))
		.sort((a, b) => a[0] - b[0]);
	if (points.length === 0) return [];
	if (points.length <= maxBins) return points.map(([v, n]) => ({ from: v, to: v, count: n }));
	const lo = points[0]![0];
	const hi = points[points.length - 1]![0];
	const size = (hi - lo) / maxBins;
	const bins: Bin[] = Array.from({ length: maxBins }, (_, i) => ({
		from: lo + i * size,
		to: i === maxBins - 1 ? hi : lo + (i + 1) * size,
		count: 0
	}));
	for (const [v, n] of points) bins[Math.min(maxBins - 1, Math.floor((v - lo) / size))]!.count += n;
	return bins;
}

const round = (v: number) => String(Math.round(v * 100) / 100);

/** The chart of one question. */
export function chartOf(q: QuestionStats): Chart {
	const dist = q.distribution;
	if (CHOICE_TYPES.has(q.type)) {
		const bars = choiceIds(q).map((id) => ({
			key: String(id),
			label: labelOf(q, id),
			count: dist[String(id)] ?? 0,
			correct: isCorrectChoice(q, id),
			choiceId: id
		}));
		return { kind: 'choices', bars: widths(bars) };
	}
	if (q.type === 'order') {
		const bars = Object.entries(dist)
			.map(([key, count]) => {
				const ids = key.split(',').map(Number);
				return {
					key,
					label: ids.map((id) => labelOf(q, id)).join(' → '),
					count,
					correct: ids.every((id, i) => id === i),
					choiceId: null
				};
			})
			.sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
		return { kind: 'sequences', bars: widths(bars) };
	}
	if (q.type === 'slider') {
		const spec = (q.correct ?? null) as { correct?: number; tolerance?: number } | null;
		const target = typeof spec?.correct === 'number' ? spec.correct : null;
		const tolerance = typeof spec?.tolerance === 'number' ? spec.tolerance : 0;
		const bars = histogram(dist).map((bin) => ({
			key: `${bin.from}-${bin.to}`,
			label: bin.from === bin.to ? round(bin.from) : `${round(bin.from)} – ${round(bin.to)}`,
			count: bin.count,
			correct:
				target === null ? null : bin.from >= target - tolerance && bin.to <= target + tolerance,
			choiceId: null
		}));
		return { kind: 'histogram', bars: widths(bars), correctValue: target, tolerance };
	}
	// text: every distinct (normalised) answer, most frequent first.
	const accepted = Array.isArray(q.correct) ? (q.correct as string[]).map(normaliseText) : [];
	const bars = Object.entries(dist)
		.map(([key, count]) => ({
			key,
			label: key,
			count,
			correct: accepted.length ? accepted.includes(normaliseText(key)) : null,
			choiceId: null
		}))
		.sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
	return { kind: 'texts', bars: widths(bars) };
}

/** Close to the server's normalisation (case, outer and inner spaces), for marking accepted answers. */
export function normaliseText(text: string): string {
	return text.normalize('NFKC').trim().replace(/\s+/g, ' ').toLocaleLowerCase();
}

/** "75 %"-style share, or null when there is nothing to divide. */
export function percent(value: number | null | undefined): number | null {
	return value === null || value === undefined ? null : Math.round(value * 100);
}

/** Milliseconds as seconds: one decimal ("3.4"), two under a second ("0.04") so it never reads 0. */
export function seconds(ms: number | null | undefined): string | null {
	if (ms === null || ms === undefined) return null;
	return ms < 1000 ? (Math.round(ms / 10) / 100).toFixed(2) : (Math.round(ms / 100) / 10).toFixed(1);
}

/** A player's stored answer in words: choice texts for choice ids, as is otherwise. */
export function describeAnswer(q: QuestionStats | undefined, answer: unknown): string {
	const label = (id: unknown) => (q && typeof id === 'number' ? labelOf(q, id) : String(id));
	if (Array.isArray(answer)) return answer.map(label).join(q?.type === 'order' ? ' → ' : ', ');
	if (typeof answer === 'number' && q && CHOICE_TYPES.has(q.type)) return label(answer);
	if (typeof answer === 'string' || typeof answer === 'number') return String(answer);
	return JSON.stringify(answer);
}
