/**
 * What the player's controls send, per question type (docs/protocol.md "Answers by
 * question type"), and how a question's outcome is read for the phone.
 *
 * Pure functions, so the rules live in one place and vitest checks them: the screen
 * only collects what the player pressed and asks here for the `answer` value. A value
 * that cannot be right for the question (nothing ticked, a slider number out of range,
 * text over 200 characters) is caught here with a reason the screen can show, instead
 * of costing a round trip and an `invalid_answer`.
 */
import type { PublicQuestion, YourResult } from '$lib/generated/socket';

/** The server's limit for a text answer (characters). */
export const TEXT_ANSWER_MAX = 200;

export type AnswerValue = number | string | number[];

/** Why an answer cannot be sent yet (an i18n key suffix under `player.problem.`). */
export type AnswerProblem = 'pick_one' | 'empty' | 'too_long' | 'not_a_number' | 'out_of_range' | 'incomplete';

export type Encoded = { ok: true; answer: AnswerValue } | { ok: false; problem: AnswerProblem };

const ok = (answer: AnswerValue): Encoded => ({ ok: true, answer });
const refuse = (problem: AnswerProblem): Encoded => ({ ok: false, problem });

/** `single`, `true_false`, `poll`: the id of the pressed choice. */
export function encodeChoice(question: PublicQuestion, choiceId: number): Encoded {
	return question.choices.some((c) => c.id === choiceId) ? ok(choiceId) : refuse('pick_one');
}

/** `multiple`: the ticked ids, in display order, each once; at least one. */
export function encodeMultiple(question: PublicQuestion, ticked: ReadonlySet<number>): Encoded {
	const ids = question.choices.map((c) => c.id).filter((id) => ticked.has(id));
	return ids.length ? ok(ids) : refuse('pick_one');
}

/** `order`: every choice id once, in the order the player arranged them. */
export function encodeOrder(question: PublicQuestion, arranged: readonly number[]): Encoded {
	const expected = new Set(question.choices.map((c) => c.id));
	const unique = new Set(arranged);
	if (arranged.length !== expected.size || unique.size !== expected.size) return refuse('incomplete');
	for (const id of arranged) if (!expected.has(id)) return refuse('incomplete');
	return ok([...arranged]);
}

/**
 * `slider`: the number typed or slid. People type "91,5" on German keyboards, so a
 * decimal comma counts as a point. Off-grid values are allowed (the server accepts them).
 */
export function encodeSlider(question: PublicQuestion, typed: string | number): Encoded {
	const slider = question.slider;
	if (!slider) return refuse('not_a_number');
	const text = String(typed).trim().replace(',', '.');
	if (text === '' || !/^[-+]?(\d+\.?\d*|\.\d+)$/.test(text)) return refuse('not_a_number');
	const value = Number(text);
	if (!Number.isFinite(value)) return refuse('not_a_number');
	if (value < slider.min || value > slider.max) return refuse('out_of_range');
	return ok(value);
}

/** `text`: what was typed, at most 200 characters (counted as the server counts: code points). */
export function encodeText(typed: string): Encoded {
	if (typed.trim() === '') return refuse('empty');
	if (textLength(typed) > TEXT_ANSWER_MAX) return refuse('too_long');
	return ok(typed);
}

/** Characters as Python counts them (code points), so the counter agrees with the server. */
export function textLength(text: string): number {
	return [...text].length;
}

/** `arranged` with the item at `index` moved by `delta` places (clamped; a new array). */
export function moveItem<T>(arranged: readonly T[], index: number, delta: number): T[] {
	const next = [...arranged];
	const target = Math.min(next.length - 1, Math.max(0, index + delta));
	if (index < 0 || index >= next.length || target === index) return next;
	const [item] = next.splice(index, 1);
	next.splice(target, 0, item as T);
	return next;
}

/** The slider's starting value: the middle of the range, on the step grid. */
export function sliderStart(question: PublicQuestion): number {
	const s = question.slider;
	if (!s) return 0;
	const steps = Math.round((s.max - s.min) / 2 / s.step);
	return Math.min(s.max, roundToStep(s.min + steps * s.step, s.step));
}

function roundToStep(value: number, step: number): number {
	const decimals = (String(step).split('.')[1] ?? '').length;
	return Number(value.toFixed(decimals));
}

/** How a question went for this player: the headline the result screen shows. */
export type Outcome = 'correct' | 'wrong' | 'thanks' | 'missed';

export function outcomeOf(result: YourResult, questionType: PublicQuestion['type'] | undefined): Outcome {
	if (questionType === 'poll' || result.correct === null) return result.answered ? 'thanks' : 'missed';
	if (result.correct) return 'correct';
	return result.answered ? 'wrong' : 'missed';
}
