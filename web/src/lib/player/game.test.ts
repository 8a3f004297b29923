import { describe, expect, it } from 'vitest';
import type { PlayerWelcome, PublicQuestion } from '$lib/generated/socket';
import {
	answerAccepted,
	finalResult,
	fromWelcome,
	gameFinished,
	hostStatus,
	questionEnded,
	questionStarted,
	yourResult
} from './game';

const question: PublicQuestion = {
	type: 'single',
	text: '2 + 2?',
	image: null,
	choices: [{ id: 0, text: '4' }],
	time_limit_ms: 10000,
	points: 1
};
const welcome = (status: PlayerWelcome['game']['status'], extra: Partial<PlayerWelcome> = {}): PlayerWelcome => ({
	role: 'player',
	player: { player_id: 'p', nickname: 'Ada', player_token: 't', score: 875, streak: 1 },
	game: {
		game_id: 'g',
		pin: '123456',
		title: 'Sums',
		status,
		question_index: status === 'lobby' ? -1 : 1,
		question_count: 3,
		players_count: 2,
		server_time_ms: 1,
		...(status === 'question' || status === 'reveal' ? { question, opens_at_ms: 1, deadline_at_ms: 10001 } : {})
	},
	...extra
});

describe('the player view', () => {
	it('lands back in an open question from welcome, answered or not', () => {
		const open = fromWelcome(welcome('question', { answered: false }));
		expect(open).toMatchObject({ phase: 'question', question, answered: false, deadlineAtMs: 10001, score: 875 });
		expect(fromWelcome(welcome('question', { answered: true })).answered).toBe(true);
	});
	it('walks through a question', () => {
		let view = fromWelcome(welcome('lobby'));
		expect(view.phase).toBe('lobby');
		view = questionStarted(view, {
			question_index: 0,
			question_count: 3,
			question,
			opens_at_ms: 1,
			deadline_at_ms: 5,
			server_time_ms: 1
		});
		expect(view).toMatchObject({ phase: 'question', questionIndex: 0, answered: false });
		expect(answerAccepted(view, 1).answered).toBe(false);
		view = answerAccepted(view, 0);
		expect(view.answered).toBe(true);
		view = questionEnded(view, { question_index: 0, correct: [0], distribution: {}, answered: 1, players_count: 2, top: [] });
		view = yourResult(view, { question_index: 0, answered: true, correct: true, points: 900, streak: 2, score: 1775, rank: 1 });
		expect(view).toMatchObject({ phase: 'reveal', score: 1775, streak: 2 });
		view = hostStatus(view, false);
		expect(view.hostAway).toBe(true);
		view = gameFinished(view, { game_id: 'g', podium: [], players_count: 2 });
		view = finalResult(view, { rank: 1, score: 1775, correct_count: 2, question_count: 3 });
		expect(view).toMatchObject({ phase: 'finished', final: { rank: 1 }, hostAway: true });
	});
	it('forgets the old question on a reconnect into a new one', () => {
		const before = yourResult(fromWelcome(welcome('question')), {
			question_index: 1,
			answered: true,
			correct: true,
			points: 1,
			streak: 1,
			score: 1,
			rank: 1
		});
		const after = fromWelcome(welcome('question'), { ...before, questionIndex: 0 });
		expect(after.result).toBeNull();
	});
	it('shows the result a reload into a reveal gets from welcome', () => {
		const mine = { question_index: 1, answered: true, correct: false, points: 0, streak: 0, score: 875, rank: 7, gap_to_next: 40 };
		const view = fromWelcome(welcome('reveal', { your_result: mine }));
		expect(view).toMatchObject({ phase: 'reveal', result: mine });
		expect(fromWelcome(welcome('reveal')).result).toBeNull();
	});
});
