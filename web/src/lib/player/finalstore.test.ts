import { describe, expect, it } from 'vitest';
import { forgetFinished, loadFinished, saveFinished } from './finalstore';

function memory() {
	const data = new Map<string, string>();
	return {
		getItem: (k: string) => data.get(k) ?? null,
		setItem: (k: string, v: string) => void data.set(k, v),
		removeItem: (k: string) => void data.delete(k)
	};
}

describe('the finished game kept per PIN', () => {
	const game = {
		gameId: 'g',
		nickname: 'Ada',
		title: 'Sums',
		final: { rank: 2, score: 900, correct_count: 1, question_count: 2 },
		playerToken: 't'
	};
	it('round-trips per PIN and can be forgotten', () => {
		const store = memory();
		saveFinished('123456', game, store);
		expect(loadFinished('123456', store)).toEqual(game);
		expect(loadFinished('654321', store)).toBeNull();
		forgetFinished('123456', store);
		expect(loadFinished('123456', store)).toBeNull();
	});
	it('ignores what it did not write', () => {
		const store = memory();
		store.setItem('cq:player_final:123456', '{not json');
		expect(loadFinished('123456', store)).toBeNull();
		store.setItem('cq:player_final:123456', '{"gameId": 1}');
		expect(loadFinished('123456', store)).toBeNull();
	});
});
