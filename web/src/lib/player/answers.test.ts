import { describe, expect, it } from 'vitest';
import type { PublicQuestion, YourResult } from '$lib/generated/socket';
import {
	encodeChoice,
	encodeMultiple,
	encodeOrder,
	encodeSlider,
	encodeText,
	moveItem,
	outcomeOf,
	sliderStart,
	textLength
} from './answers';

const choices = (type: PublicQuestion['type']): PublicQuestion => ({
	type,
	text: 'q',
	image: null,
	choices: [
		{ id: 2, text: 'c' },
		{ id: 0, text: 'a' },
		{ id: 1, text: 'b' }
	],
	time_limit_ms: 10000,
	points: 1
});
const slider: PublicQuestion = {
	...choices('slider'),
	choices: [],
	slider: { min: 0, max: 180, step: 1 }
};

describe('choice answers', () => {
	it('sends the pressed id, only one that exists', () => {
		expect(encodeChoice(choices('single'), 0)).toEqual({ ok: true, answer: 0 });
		expect(encodeChoice(choices('poll'), 7)).toEqual({ ok: false, problem: 'pick_one' });
	});
	it('multiple: ticked ids in display order, at least one', () => {
		expect(encodeMultiple(choices('multiple'), new Set([1, 2]))).toEqual({ ok: true, answer: [2, 1] });
		expect(encodeMultiple(choices('multiple'), new Set([9]))).toEqual({ ok: false, problem: 'pick_one' });
		expect(encodeMultiple(choices('multiple'), new Set())).toEqual({ ok: false, problem: 'pick_one' });
	});
	it('order: every id once', () => {
		expect(encodeOrder(choices('order'), [0, 1, 2])).toEqual({ ok: true, answer: [0, 1, 2] });
		expect(encodeOrder(choices('order'), [0, 1])).toEqual({ ok: false, problem: 'incomplete' });
		expect(encodeOrder(choices('order'), [0, 1, 1])).toEqual({ ok: false, problem: 'incomplete' });
		expect(encodeOrder(choices('order'), [0, 1, 5])).toEqual({ ok: false, problem: 'incomplete' });
	});
});

describe('slider answers', () => {
	it('reads numbers, a decimal comma too, within the range', () => {
		expect(encodeSlider(slider, '90')).toEqual({ ok: true, answer: 90 });
		expect(encodeSlider(slider, 91.5)).toEqual({ ok: true, answer: 91.5 });
		expect(encodeSlider(slider, ' 91,5 ')).toEqual({ ok: true, answer: 91.5 });
		expect(encodeSlider(slider, '181')).toEqual({ ok: false, problem: 'out_of_range' });
		expect(encodeSlider(slider, '-1')).toEqual({ ok: false, problem: 'out_of_range' });
		expect(encodeSlider(slider, '')).toEqual({ ok: false, problem: 'not_a_number' });
		expect(encodeSlider(slider, '1e2')).toEqual({ ok: false, problem: 'not_a_number' });
		expect(encodeSlider(slider, 'abc')).toEqual({ ok: false, problem: 'not_a_number' });
	});
	it('starts in the middle, on the grid', () => {
		expect(sliderStart(slider)).toBe(90);
		expect(sliderStart({ ...slider, slider: { min: 0, max: 1, step: 0.3 } })).toBe(0.6);
		expect(sliderStart({ ...slider, slider: { min: 1, max: 4, step: 1 } })).toBe(3);
	});
});

describe('text answers', () => {
	it('at most 200 characters, counted as code points, not blank', () => {
		expect(encodeText('Paris')).toEqual({ ok: true, answer: 'Paris' });
		expect(encodeText('   ')).toEqual({ ok: false, problem: 'empty' });
		expect(encodeText('x'.repeat(200))).toEqual({ ok: true, answer: 'x'.repeat(200) });
		expect(encodeText('x'.repeat(201))).toEqual({ ok: false, problem: 'too_long' });
		expect(textLength('😀'.repeat(200))).toBe(200);
		expect(encodeText('😀'.repeat(200)).ok).toBe(true);
	});
});

describe('moving order items', () => {
	it('moves one place and clamps at the ends', () => {
		expect(moveItem([1, 2, 3], 0, 1)).toEqual([2, 1, 3]);
		expect(moveItem([1, 2, 3], 2, -1)).toEqual([1, 3, 2]);
		expect(moveItem([1, 2, 3], 0, -1)).toEqual([1, 2, 3]);
		expect(moveItem([1, 2, 3], 0, 5)).toEqual([2, 3, 1]);
	});
});

describe('outcome', () => {
	const result = (over: Partial<YourResult>): YourResult => ({
		question_index: 0,
		answered: true,
		correct: true,
		points: 900,
		streak: 1,
		score: 900,
		rank: 1,
		...over
	});
	it('names the outcome', () => {
		expect(outcomeOf(result({}), 'single')).toBe('correct');
		expect(outcomeOf(result({ correct: false }), 'single')).toBe('wrong');
		expect(outcomeOf(result({ correct: false, answered: false }), 'single')).toBe('missed');
		expect(outcomeOf(result({ correct: null }), 'poll')).toBe('thanks');
		expect(outcomeOf(result({ correct: null, answered: false }), 'poll')).toBe('missed');
	});
});
