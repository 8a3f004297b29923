import { describe, expect, it } from 'vitest';
import { chartOf, describeAnswer, histogram, percent, seconds, type QuestionStats } from './charts';

function question(over: Partial<QuestionStats>): QuestionStats {
	return {
		index: 0,
		type: 'single',
		text: 'Q',
		answered: 0,
		correct_count: 0,
		accuracy: null,
		avg_time_ms: null,
		distribution: {},
		correct: null,
		choices: [],
		...over
	};
}

describe('chartOf', () => {
	it('labels choice bars by the stored texts, in authored order, with the right one marked', () => {
		const chart = chartOf(
			question({
				distribution: { '1': 2, '0': 1 },
				correct: [1],
				choices: [
					{ id: 0, text: '3' },
					{ id: 1, text: '4' },
					{ id: 2, text: '5' }
				]
			})
		);
		expect(chart.kind).toBe('choices');
		expect(chart.bars.map((b) => [b.label, b.count, b.width, b.correct])).toEqual([
			['3', 1, 0.5, false],
			['4', 2, 1, true],
			['5', 0, 0, false]
		]);
	});

	it('has no right answer for a poll, and falls back to numbers without stored texts', () => {
		const chart = chartOf(question({ type: 'poll', distribution: { '0': 1, '1': 3 } }));
		expect(chart.bars.map((b) => [b.label, b.correct])).toEqual([
			['#1', null],
			['#2', null]
		]);
	});

	it('shows order answers as labelled sequences, most frequent first', () => {
		const chart = chartOf(
			question({
				type: 'order',
				distribution: { '2,1,0': 1, '0,1,2': 2 },
				choices: [
					{ id: 0, text: 'one' },
					{ id: 1, text: 'two' },
					{ id: 2, text: 'three' }
				]
			})
		);
		expect(chart.kind).toBe('sequences');
		expect(chart.bars.map((b) => [b.label, b.count, b.correct])).toEqual([
			['one → two → three', 2, true],
			['three → two → one', 1, false]
		]);
	});

	it('lists text answers by frequency, accepted ones marked', () => {
		const chart = chartOf(
			question({ type: 'text', distribution: { lyon: 1, paris: 2 }, correct: ['Paris'] })
		);
		expect(chart.kind).toBe('texts');
		expect(chart.bars.map((b) => [b.label, b.count, b.correct])).toEqual([
			['paris', 2, true],
			['lyon', 1, false]
		]);
	});

	it('draws a slider as a histogram, bins inside the tolerance marked right', () => {
		const chart = chartOf(
			question({
				type: 'slider',
				distribution: { '45': 1, '90': 1, '91': 1 },
				correct: { correct: 90, tolerance: 2 }
			})
		);
		expect(chart.kind).toBe('histogram');
		expect(chart.bars.map((b) => [b.label, b.count, b.correct])).toEqual([
			['45', 1, false],
			['90', 1, true],
			['91', 1, true]
		]);
	});
});

describe('histogram', () => {
	it('groups many distinct values into equal ranges and keeps every answer', () => {
		const dist = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [String(i * 5), 1]));
		const bins = histogram(dist, 10);
		expect(bins).toHaveLength(10);
		expect(bins[0]).toMatchObject({ from: 0, to: 10 });
		expect(bins.reduce((s, b) => s + b.count, 0)).toBe(21);
		expect(bins[9]!.to).toBe(100);
	});

	it('is empty without answers', () => {
		expect(histogram({})).toEqual([]);
	});
});

describe('formatting', () => {
	it('rounds shares and times, keeping null for "none"', () => {
		expect(percent(7 / 13)).toBe(54);
		expect(percent(null)).toBeNull();
		expect(seconds(3417)).toBe('3.4');
		expect(seconds(38)).toBe('0.04');
		expect(seconds(undefined)).toBeNull();
	});
});

describe('describeAnswer', () => {
	const choices = [
		{ id: 0, text: 'one' },
		{ id: 1, text: 'two' }
	];
	it('names chosen choices by their texts', () => {
		expect(describeAnswer(question({ choices }), 1)).toBe('two');
		expect(describeAnswer(question({ type: 'multiple', choices }), [0, 1])).toBe('one, two');
		expect(describeAnswer(question({ type: 'order', choices }), [1, 0])).toBe('two → one');
	});
	it('keeps text and slider answers as given', () => {
		expect(describeAnswer(question({ type: 'text' }), '42')).toBe('42');
		expect(describeAnswer(question({ type: 'slider' }), 90.5)).toBe('90.5');
	});
});
