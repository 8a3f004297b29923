import { describe, expect, it } from 'vitest';
import type { LeaderboardEntry, PublicQuestion } from '$lib/generated/socket';
import {
	correctLabels,
	MAX_BINS,
	MAX_LISTED,
	loadRanks,
	movements,
	normaliseText,
	rankMap,
	revealBars,
	saveRanks,
	type ChoiceBar,
	type HistogramBin,
	type ListedAnswer
} from './reveal';

function question(overrides: Partial<PublicQuestion>): PublicQuestion {
	return { type: 'single', text: 'Q', image: null, choices: [], time_limit_ms: 20_000, points: 1, ...overrides };
}

const abc = [
	{ id: 2, text: 'five' },
	{ id: 0, text: 'three' },
	{ id: 1, text: 'four' }
];

describe('choice bars', () => {
	it('follow the display order, count per choice id and mark the right ids', () => {
		const shaped = revealBars(question({ choices: abc }), { '1': 4, '2': 1 }, [1]);
		expect(shaped.kind).toBe('choices');
		const bars = (shaped as { bars: ChoiceBar[] }).bars;
		expect(bars.map((b) => [b.index, b.text, b.count, b.correct])).toEqual([
			[0, 'five', 1, false],
			[1, 'three', 0, false],
			[2, 'four', 4, true]
		]);
		expect(bars.map((b) => b.share)).toEqual([0.25, 0, 1]);
	});

	it('mark every right choice of a multiple question; a poll marks none', () => {
		const multiple = revealBars(question({ type: 'multiple', choices: abc }), { '0': 2, '1': 3 }, [0, 1]);
		expect((multiple as { bars: ChoiceBar[] }).bars.filter((b) => b.correct).map((b) => b.id)).toEqual([0, 1]);
		const poll = revealBars(question({ type: 'poll', choices: abc }), { '0': 2 }, null);
		expect((poll as { bars: ChoiceBar[] }).bars.some((b) => b.correct)).toBe(false);
	});

	it('show empty bars when nobody answered', () => {
		const shaped = revealBars(question({ choices: abc }), {}, [1]);
		expect((shaped as { bars: ChoiceBar[] }).bars.map((b) => [b.count, b.share])).toEqual([
			[0, 0],
			[0, 0],
			[0, 0]
		]);
	});
});

describe('slider histogram', () => {
	const slider = question({ type: 'slider', slider: { min: 0, max: 180, step: 1 } });

	it('bins the range into at most MAX_BINS whole-step bins that cover it', () => {
		const shaped = revealBars(slider, { '0': 1, '90': 3, '91.5': 1, '180': 2 }, { correct: 90, tolerance: 2 });
		const bins = (shaped as { bins: HistogramBin[] }).bins;
		expect(bins.length).toBeLessThanOrEqual(MAX_BINS);
		expect(bins[0]!.from).toBe(0);
		expect(bins.at(-1)!.to).toBe(180);
		for (let i = 1; i < bins.length; i++) expect(bins[i]!.from).toBe(bins[i - 1]!.to + 1);
		expect(bins.reduce((sum, b) => sum + b.count, 0)).toBe(7);
		expect(bins[0]!.count).toBe(1);
		expect(bins.at(-1)!.count).toBe(2);
		const withNinety = bins.find((b) => b.from <= 90 && 90 <= b.to)!;
		expect(withNinety.count).toBe(4);
		expect(withNinety.share).toBe(1);
		expect(withNinety.correct).toBe(true);
		expect(bins.filter((b) => b.correct)).toEqual([withNinety]);
	});

	it('gives a small range one bin per step', () => {
		const small = question({ type: 'slider', slider: { min: 1, max: 5, step: 1 } });
		const bins = (revealBars(small, { '3': 2 }, { correct: 3, tolerance: 1 }) as { bins: HistogramBin[] }).bins;
		expect(bins.map((b) => [b.from, b.to, b.count, b.correct])).toEqual([
			[1, 1, 0, false],
			[2, 2, 0, true],
			[3, 3, 2, true],
			[4, 4, 0, true],
			[5, 5, 0, false]
		]);
	});

	it('handles fractional steps without drifting', () => {
		const fine = question({ type: 'slider', slider: { min: 0, max: 1, step: 0.1 } });
		const bins = (revealBars(fine, { '0.3': 1, '1': 1 }, { correct: 0.3, tolerance: 0 }) as { bins: HistogramBin[] })
			.bins;
		expect(bins.length).toBeLessThanOrEqual(MAX_BINS);
		expect(bins.at(-1)!.to).toBe(1);
		expect(bins.reduce((sum, b) => sum + b.count, 0)).toBe(2);
		expect(bins.find((b) => b.correct)!.count).toBe(1);
	});
});

describe('text answers', () => {
	it('are listed most given first, the accepted ones marked after normalising', () => {
		const shaped = revealBars(question({ type: 'text' }), { london: 1, paris: 5, 'paris france': 2 }, [' PARIS ']);
		const answers = (shaped as { answers: ListedAnswer[]; others: number }).answers;
		expect(answers.map((a) => [a.label[0], a.count, a.correct])).toEqual([
			['paris', 5, true],
			['paris france', 2, false],
			['london', 1, false]
		]);
		expect(answers[0]!.share).toBe(1);
	});

	it('count what does not fit the list as others', () => {
		const many = Object.fromEntries(Array.from({ length: MAX_LISTED + 3 }, (_, i) => [`w${i}`, 1]));
		const shaped = revealBars(question({ type: 'text' }), many, ['w0']) as { answers: ListedAnswer[]; others: number };
		expect(shaped.answers).toHaveLength(MAX_LISTED);
		expect(shaped.others).toBe(3);
	});

	it('normalise like the server: NFKC, case, spaces', () => {
		expect(normaliseText('  Ｐａｒｉｓ   France ')).toBe('paris france');
	});
});

describe('order sequences', () => {
	const order = question({ type: 'order', choices: abc });

	it('turn comma-joined ids into choice texts and mark the right order', () => {
		const shaped = revealBars(order, { '0,1,2': 3, '1,0,2': 1 }, [0, 1, 2]) as { answers: ListedAnswer[] };
		expect(shaped.answers.map((a) => [a.label, a.count, a.correct])).toEqual([
			[['three', 'four', 'five'], 3, true],
			[['four', 'three', 'five'], 1, false]
		]);
	});

	it('list the right order even when nobody found it', () => {
		const shaped = revealBars(order, { '1,0,2': 2 }, [0, 1, 2]) as { answers: ListedAnswer[] };
		expect(shaped.answers.map((a) => [a.label, a.count, a.correct])).toEqual([
			[['four', 'three', 'five'], 2, false],
			[['three', 'four', 'five'], 0, true]
		]);
	});
});

describe('correct labels', () => {
	it('name the right answer per type', () => {
		expect(correctLabels(question({ choices: abc }), [1])).toEqual(['four']);
		expect(correctLabels(question({ type: 'order', choices: abc }), [0, 1, 2])).toEqual(['three', 'four', 'five']);
		expect(correctLabels(question({ type: 'text' }), ['Paris'])).toEqual(['Paris']);
		expect(correctLabels(question({ type: 'slider' }), { correct: 90, tolerance: 2 })).toEqual(['90 ± 2']);
		expect(correctLabels(question({ type: 'slider' }), { correct: 90, tolerance: 0 })).toEqual(['90']);
		expect(correctLabels(question({ type: 'poll', choices: abc }), null)).toEqual([]);
	});
});

describe('leaderboard movement', () => {
	const entry = (player_id: string, rank: number): LeaderboardEntry => ({ player_id, rank, nickname: player_id, score: 0 });

	it('compares each rank with the last reveal', () => {
		const before = rankMap([entry('a', 1), entry('b', 2), entry('c', 3)]);
		const now = [entry('c', 1), entry('a', 2), entry('b', 2), entry('d', 4)];
		expect(movements(now, before)).toEqual([
			{ kind: 'up', by: 2 },
			{ kind: 'down', by: 1 },
			{ kind: 'same' },
			{ kind: 'new' }
		]);
	});

	it('shows none before there is a last reveal', () => {
		expect(movements([entry('a', 1)], null)).toEqual([{ kind: 'none' }]);
	});
});

describe('rank memory across a reload', () => {
	const memoryStore = () => {
		const items = new Map<string, string>();
		return { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
	};

	it('gives back the ranks of a reveal, keeping only the two latest', () => {
		const store = memoryStore();
		saveRanks(store, 'g', 0, new Map([['a', 1]]));
		saveRanks(store, 'g', 1, new Map([['a', 2], ['b', 1]]));
		saveRanks(store, 'g', 2, new Map([['b', 2]]));
		expect(loadRanks(store, 'g', 1)).toEqual(new Map([['a', 2], ['b', 1]]));
		expect(loadRanks(store, 'g', 2)).toEqual(new Map([['b', 2]]));
		expect(loadRanks(store, 'g', 0)).toBeNull();
		expect(loadRanks(store, 'other', 1)).toBeNull();
	});

	it('survives garbage in storage', () => {
		const store = memoryStore();
		store.setItem('cq:host:ranks:g', '{not json');
		expect(loadRanks(store, 'g', 0)).toBeNull();
		saveRanks(store, 'g', 0, new Map([['a', 1]]));
	});
});
