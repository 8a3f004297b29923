import { describe, expect, it } from 'vitest';
import { saveFinished } from '$lib/player/finalstore';
import { savedToken, tokenFromFragment } from './playerToken';

function memory() {
	const data = new Map<string, string>();
	return {
		getItem: (k: string) => data.get(k) ?? null,
		setItem: (k: string, v: string) => void data.set(k, v),
		removeItem: (k: string) => void data.delete(k),
		get length() {
			return data.size;
		},
		key: (i: number) => [...data.keys()][i] ?? null
	};
}

describe('the player token of a finished game', () => {
	it('is read from the fragment', () => {
		expect(tokenFromFragment('#token=abc.def')).toBe('abc.def');
		expect(tokenFromFragment('')).toBeNull();
		expect(tokenFromFragment('#token=')).toBeNull();
	});

	it('is found among the games the player page kept, by game id', () => {
		const store = memory();
		store.setItem('unrelated', 'x');
		const final = { rank: 1, score: 1, correct_count: 1, question_count: 1 };
		saveFinished('111111', { gameId: 'g1', nickname: 'A', title: 'T', final, playerToken: 't1' }, store);
		saveFinished('222222', { gameId: 'g2', nickname: 'A', title: 'T', final, playerToken: 't2' }, store);
		expect(savedToken('g2', store)).toBe('t2');
		expect(savedToken('g3', store)).toBeNull();
	});
});
