/**
 * The player's view of the game, as plain data rebuilt from the server's messages.
 *
 * Everything starts from `welcome` (a first join, a reload, a phone that slept: the
 * server sends a fresh snapshot and does not replay missed events), and each event
 * moves it on. Keeping this a pure reducer means the screen is a function of the
 * last snapshot plus what followed, so a reconnect can never leave a stale question
 * on screen; vitest checks the transitions.
 */
import type {
	FinalResult,
	GameFinished,
	PlayerWelcome,
	PublicQuestion,
	QuestionEnded,
	QuestionStarted,
	YourResult
} from '$lib/generated/socket';

export type Phase = 'lobby' | 'question' | 'reveal' | 'finished';

export interface PlayerView {
	gameId: string;
	pin: string;
	title: string;
	phase: Phase;
	nickname: string;
	score: number;
	streak: number;
	questionIndex: number;
	questionCount: number;
	question: PublicQuestion | null;
	deadlineAtMs: number | null;
	/** The open question was answered (the server acked it, or `welcome` says so). */
	answered: boolean;
	/** This player's outcome of the last closed question (null if it was missed while away). */
	result: YourResult | null;
	/** The room's outcome of the last closed question. */
	ended: QuestionEnded | null;
	final: FinalResult | null;
	/** The host's screen is offline (`host_status`). */
	hostAway: boolean;
}

export function fromWelcome(welcome: PlayerWelcome, previous: PlayerView | null = null): PlayerView {
	const g = welcome.game;
	const sameQuestion = previous?.gameId === g.game_id && previous.questionIndex === g.question_index;
	return {
		gameId: g.game_id,
		pin: g.pin,
		title: g.title,
		phase: g.status,
		nickname: welcome.player.nickname,
		score: welcome.player.score,
		streak: welcome.player.streak,
		questionIndex: g.question_index,
		questionCount: g.question_count,
		question: g.question ?? null,
		deadlineAtMs: g.deadline_at_ms ?? null,
		answered: welcome.answered ?? false,
		// In a reveal a returning player's welcome repeats its `your_result` (a reload lost
		// the page's memory); a reconnect within the same reveal keeps what it showed.
		result: welcome.your_result ?? (sameQuestion && g.status === 'reveal' ? previous.result : null),
		ended: sameQuestion && g.status === 'reveal' ? previous.ended : null,
		final: g.status === 'finished' ? (previous?.final ?? null) : null,
		hostAway: previous?.gameId === g.game_id ? previous.hostAway : false
	};
}

export function questionStarted(view: PlayerView, e: QuestionStarted): PlayerView {
	return {
		...view,
		phase: 'question',
		questionIndex: e.question_index,
		questionCount: e.question_count,
		question: e.question,
		deadlineAtMs: e.deadline_at_ms,
		answered: false,
		result: null,
		ended: null
	};
}

/** The server acknowledged this player's answer to question `index`. */
export function answerAccepted(view: PlayerView, index: number): PlayerView {
	return view.phase === 'question' && view.questionIndex === index ? { ...view, answered: true } : view;
}

export function questionEnded(view: PlayerView, e: QuestionEnded): PlayerView {
	return { ...view, phase: 'reveal', questionIndex: e.question_index, ended: e };
}

export function yourResult(view: PlayerView, e: YourResult): PlayerView {
	return { ...view, phase: 'reveal', result: e, score: e.score, streak: e.streak };
}

export function gameFinished(view: PlayerView, _e: GameFinished): PlayerView {
	return { ...view, phase: 'finished', question: null, deadlineAtMs: null };
}

export function finalResult(view: PlayerView, e: FinalResult): PlayerView {
	return { ...view, phase: 'finished', final: e, score: e.score };
}

export function hostStatus(view: PlayerView, connected: boolean): PlayerView {
	return { ...view, hostAway: !connected };
}

export function renamed(view: PlayerView, nickname: string): PlayerView {
	return { ...view, nickname };
}

/** The view of a game that ended earlier (kept by finalstore.ts): the final screen again. */
export function fromFinished(
	pin: string,
	saved: { gameId: string; nickname: string; title: string; final: FinalResult }
): PlayerView {
	return {
		gameId: saved.gameId,
		pin,
		title: saved.title,
		phase: 'finished',
		nickname: saved.nickname,
		score: saved.final.score,
		streak: 0,
		questionIndex: -1,
		questionCount: saved.final.question_count,
		question: null,
		deadlineAtMs: null,
		answered: false,
		result: null,
		ended: null,
		final: saved.final,
		hostAway: false
	};
}
