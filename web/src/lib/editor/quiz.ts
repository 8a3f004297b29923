/**
 * The quiz editor's state and every change a teacher makes to it, as pure
 * functions (each returns a new quiz), plus the way to and from the REST shape.
 *
 * Why an editor shape of its own instead of editing `QuizIn` directly:
 * - every question and choice carries a `key` that survives reordering, so Svelte
 *   moves the right DOM nodes (and focus) when an item moves;
 * - a question keeps the fields of every type while the teacher switches its type
 *   (choices typed for `single` are still there after a detour through `slider`),
 *   and `toApi` sends only the fields of the chosen type;
 * - numbers stay as typed (`null` when a box is empty): the server is the judge of
 *   what is valid, and its 422 names the field, which the editor shows there.
 */
import type { Schemas } from '$lib/api';
import type { PublicQuestion } from '$lib/generated/socket';

export type QuestionType = Schemas['QuestionIn']['type'];
export type Points = 0 | 1 | 2;

export const QUESTION_TYPES: readonly QuestionType[] = [
	'single',
	'multiple',
	'true_false',
	'text',
	'slider',
	'order',
	'poll'
];

/** Types whose answers are choices. */
export const CHOICE_TYPES: ReadonlySet<QuestionType> = new Set(['single', 'multiple', 'true_false', 'order', 'poll']);
/** Choice types where a choice can be marked correct (order: the listed order is the answer; poll: no answer). */
export const MARKED_TYPES: ReadonlySet<QuestionType> = new Set(['single', 'multiple', 'true_false']);

/** Limits the server enforces too (schemas.py); used for the inputs' own bounds. */
export const MAX_CHOICES = 6;
export const MAX_ACCEPTED = 10;
export const MIN_TIME_S = 5;
export const MAX_TIME_S = 240;

export interface EditorChoice {
	key: string;
	text: string;
	correct: boolean;
}

export interface EditorSlider {
	min: number | null;
	max: number | null;
	step: number | null;
	correct: number | null;
	tolerance: number | null;
}

export interface EditorQuestion {
	key: string;
	type: QuestionType;
	text: string;
	image: string;
	time_limit_s: number | null;
	points: Points;
	choices: EditorChoice[];
	accepted_answers: EditorChoice[];
	slider: EditorSlider;
}

export interface EditorQuiz {
	title: string;
	description: string;
	public: boolean;
	language: string | null;
	/** As typed: tags separated by commas (split only when sent). */
	tags: string;
	questions: EditorQuestion[];
}

let counter = 0;
/** A key unique in this page (and unlike any key of a restored draft). */
export function newKey(): string {
	counter += 1;
	return `k${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

function choice(text = '', correct = false): EditorChoice {
	return { key: newKey(), text, correct };
}

/** A new question: `single` with two empty choices (one more is a click away). */
export function newQuestion(type: QuestionType = 'single'): EditorQuestion {
	const question: EditorQuestion = {
		key: newKey(),
		type: 'single',
		text: '',
		image: '',
		time_limit_s: 20,
		points: 1,
		choices: [choice(), choice()],
		accepted_answers: [choice()],
		slider: { min: 0, max: 10, step: 1, correct: 5, tolerance: 0 }
	};
	return type === 'single' ? question : changeType(question, type, ['', '']);
}

/** A new quiz: no title yet and one `single` question (UI.md). */
export function newQuiz(): EditorQuiz {
	return { title: '', description: '', public: false, language: null, tags: '', questions: [newQuestion()] };
}

/**
 * Switch a question's type. Going to `true_false` gives it exactly the two choices
 * it needs (named by `trueFalse`, in the teacher's language, when they are empty),
 * keeping one marked correct; the other fields stay for a later switch back.
 */
export function changeType(
	question: EditorQuestion,
	type: QuestionType,
	trueFalse: readonly [string, string] | readonly string[]
): EditorQuestion {
	if (type !== 'true_false') return { ...question, type };
	const kept = question.choices.slice(0, 2);
	while (kept.length < 2) kept.push(choice());
	let choices = kept.map((c, i) => ({ ...c, text: c.text || trueFalse[i] || '' }));
	const firstCorrect = choices.findIndex((c) => c.correct);
	choices = choices.map((c, i) => ({ ...c, correct: i === (firstCorrect < 0 ? 0 : firstCorrect) }));
	return { ...question, type, choices };
}

/** The list with the item at `index` moved by `delta` places (clamped to the ends). */
export function move<T>(items: readonly T[], index: number, delta: number): T[] {
	const next = [...items];
	const target = Math.min(next.length - 1, Math.max(0, index + delta));
	if (index < 0 || index >= next.length || target === index) return next;
	const [item] = next.splice(index, 1);
	next.splice(target, 0, item as T);
	return next;
}

/** The list with the item at `from` put at position `to` (a drop). */
export function moveTo<T>(items: readonly T[], from: number, to: number): T[] {
	return move(items, from, to - from);
}

export function withoutIndex<T>(items: readonly T[], index: number): T[] {
	return items.filter((_, i) => i !== index);
}

export function replaceAt<T>(items: readonly T[], index: number, item: T): T[] {
	return items.map((old, i) => (i === index ? item : old));
}

export function addQuestion(quiz: EditorQuiz, type: QuestionType = 'single'): EditorQuiz {
	return { ...quiz, questions: [...quiz.questions, newQuestion(type)] };
}

export function addChoice(question: EditorQuestion): EditorQuestion {
	if (question.choices.length >= MAX_CHOICES || question.type === 'true_false') return question;
	return { ...question, choices: [...question.choices, choice()] };
}

export function addAccepted(question: EditorQuestion): EditorQuestion {
	if (question.accepted_answers.length >= MAX_ACCEPTED) return question;
	return { ...question, accepted_answers: [...question.accepted_answers, choice()] };
}

/**
 * Mark choice `index` correct or not. A `single` or `true_false` question has one
 * correct choice, so marking one unmarks the others.
 */
export function markCorrect(question: EditorQuestion, index: number, correct: boolean): EditorQuestion {
	const only = question.type === 'true_false' || question.type === 'single';
	const choices = question.choices.map((c, i) =>
		i === index ? { ...c, correct } : only && correct ? { ...c, correct: false } : c
	);
	return { ...question, choices };
}

function numberOrNull(value: unknown): number | null {
	return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Tags typed as "maths, year 7" → ["maths", "year 7"]; empty pieces dropped. */
export function splitTags(text: string): string[] {
	return text
		.split(',')
		.map((tag) => tag.trim())
		.filter(Boolean);
}

/** The body of POST/PUT /api/v1/quizzes: only the fields of each question's type. */
export function toApi(quiz: EditorQuiz): Schemas['QuizIn'] {
	return {
		title: quiz.title,
		description: quiz.description,
		public: quiz.public,
		language: quiz.language,
		tags: splitTags(quiz.tags),
		questions: quiz.questions.map((q) => {
			const marked = MARKED_TYPES.has(q.type);
			return {
				type: q.type,
				text: q.text,
				image: q.image.trim() || null,
				// an empty box goes as null, which the server refuses at this field
				time_limit_s: q.time_limit_s as number,
				points: q.points,
				choices: CHOICE_TYPES.has(q.type)
					? q.choices.map((c) => ({ text: c.text, correct: marked && c.correct }))
					: null,
				accepted_answers: q.type === 'text' ? q.accepted_answers.map((a) => a.text) : null,
				slider:
					q.type === 'slider'
						? ({
								min: q.slider.min,
								max: q.slider.max,
								step: q.slider.step,
								correct: q.slider.correct,
								tolerance: q.slider.tolerance
							} as Schemas['SliderIn'])
						: null
			};
		})
	};
}

type StoredQuestion = Record<string, unknown>;

/** A quiz as the server returns it (`QuizOut`) in the editor's shape. */
export function fromApi(quiz: Pick<Schemas['QuizOut'], 'title' | 'description' | 'public' | 'language' | 'tags' | 'questions'>): EditorQuiz {
	return {
		title: quiz.title,
		description: quiz.description,
		public: quiz.public,
		language: quiz.language ?? null,
		tags: quiz.tags.join(', '),
		questions: quiz.questions.map((raw: StoredQuestion) => {
			const base = newQuestion();
			const type = (QUESTION_TYPES as readonly unknown[]).includes(raw.type) ? (raw.type as QuestionType) : 'single';
			const choices = Array.isArray(raw.choices)
				? raw.choices.map((c: { text?: unknown; correct?: unknown }) => choice(String(c.text ?? ''), c.correct === true))
				: base.choices;
			const accepted = Array.isArray(raw.accepted_answers)
				? raw.accepted_answers.map((a: unknown) => choice(String(a)))
				: base.accepted_answers;
			const slider = (raw.slider ?? null) as Record<string, unknown> | null;
			return {
				...base,
				type,
				text: String(raw.text ?? ''),
				image: typeof raw.image === 'string' ? raw.image : '',
				time_limit_s: numberOrNull(raw.time_limit_s) ?? 20,
				points: raw.points === 0 || raw.points === 2 ? raw.points : 1,
				choices,
				accepted_answers: accepted.length ? accepted : base.accepted_answers,
				slider: slider
					? {
							min: numberOrNull(slider.min),
							max: numberOrNull(slider.max),
							step: numberOrNull(slider.step),
							correct: numberOrNull(slider.correct),
							tolerance: numberOrNull(slider.tolerance)
						}
					: base.slider
			};
		})
	};
}

/** Whether two quizzes would save the same (keys and hidden fields of other types do not count). */
export function sameQuiz(a: EditorQuiz, b: EditorQuiz): boolean {
	return JSON.stringify(toApi(a)) === JSON.stringify(toApi(b));
}

/** A question as a player's phone gets it (no answers), for the preview. */
export function toPublic(question: EditorQuestion): PublicQuestion {
	const choices = CHOICE_TYPES.has(question.type)
		? question.choices.map((c, id) => ({ id, text: c.text }))
		: [];
	const min = question.slider.min ?? 0;
	const max = question.slider.max ?? min + 1;
	return {
		type: question.type,
		text: question.text,
		image: question.image.trim() || null,
		choices,
		...(question.type === 'slider' ? { slider: { min, max, step: question.slider.step || 1 } } : {}),
		time_limit_ms: (question.time_limit_s ?? 20) * 1000,
		points: question.points
	};
}

/** The field paths the server may name (`questions.1.choices.2.text`), for `fieldFor`. */
export function fieldPaths(quiz: EditorQuiz): string[] {
	const paths = ['title', 'description', 'public', 'tags', 'language', 'questions'];
	quiz.questions.forEach((q, i) => {
		const p = `questions.${i}`;
		paths.push(p, `${p}.type`, `${p}.text`, `${p}.image`, `${p}.time_limit_s`, `${p}.points`);
		paths.push(`${p}.choices`, `${p}.accepted_answers`, `${p}.slider`);
		q.choices.forEach((_, j) => paths.push(`${p}.choices.${j}`, `${p}.choices.${j}.text`));
		q.accepted_answers.forEach((_, j) => paths.push(`${p}.accepted_answers.${j}`));
		for (const f of ['min', 'max', 'step', 'correct', 'tolerance']) paths.push(`${p}.slider.${f}`);
	});
	return paths;
}

// ---------------------------------------------------------------- drafts

/** What the editor keeps in localStorage while a teacher types. */
export interface Draft {
	quiz: EditorQuiz;
	saved_at: number;
}

export function draftKey(quizId: string | null): string {
	return `cq:editor-draft:${quizId ?? 'new'}`;
}

function looksLikeQuiz(value: unknown): value is EditorQuiz {
	if (typeof value !== 'object' || value === null) return false;
	const quiz = value as Record<string, unknown>;
	return (
		typeof quiz.title === 'string' &&
		typeof quiz.tags === 'string' &&
		Array.isArray(quiz.questions) &&
		quiz.questions.every(
			(q) =>
				typeof q === 'object' &&
				q !== null &&
				typeof (q as EditorQuestion).key === 'string' &&
				Array.isArray((q as EditorQuestion).choices) &&
				Array.isArray((q as EditorQuestion).accepted_answers) &&
				typeof (q as EditorQuestion).slider === 'object'
		)
	);
}

/** A stored draft, or null when there is none or it is not one (an older format, a broken write). */
export function parseDraft(raw: string | null): Draft | null {
	if (!raw) return null;
	try {
		const value = JSON.parse(raw) as Partial<Draft>;
		if (!looksLikeQuiz(value.quiz) || typeof value.saved_at !== 'number') return null;
		return { quiz: value.quiz, saved_at: value.saved_at };
	} catch {
		return null;
	}
}
