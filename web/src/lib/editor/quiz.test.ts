import { describe, expect, it } from 'vitest';
import {
	addChoice,
	addQuestion,
	changeType,
	draftKey,
	fieldPaths,
	fromApi,
	markCorrect,
	move,
	moveTo,
	newQuestion,
	newQuiz,
	parseDraft,
	sameQuiz,
	toApi,
	toPublic,
	withoutIndex,
	type EditorQuestion
} from './quiz';
import { fieldFor } from '$lib/teacher/errors';

const TF = ['True', 'False'] as const;

function filled(q: EditorQuestion, texts: string[], correct: number[] = []): EditorQuestion {
	return {
		...q,
		text: 'Q',
		choices: texts.map((text, i) => ({ key: `c${i}`, text, correct: correct.includes(i) }))
	};
}

describe('a new quiz', () => {
	it('starts with one single question of two empty choices', () => {
		const quiz = newQuiz();
		expect(quiz.questions).toHaveLength(1);
		expect(quiz.questions[0]!.type).toBe('single');
		expect(quiz.questions[0]!.choices.map((c) => c.text)).toEqual(['', '']);
	});

	it('gives every question and choice its own key', () => {
		const quiz = addQuestion(addQuestion(newQuiz()));
		const keys = quiz.questions.flatMap((q) => [q.key, ...q.choices.map((c) => c.key)]);
		expect(new Set(keys).size).toBe(keys.length);
	});
});

describe('moving', () => {
	it('moves by a step and clamps at the ends', () => {
		expect(move(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
		expect(move(['a', 'b', 'c'], 2, -1)).toEqual(['a', 'c', 'b']);
		expect(move(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c']);
		expect(move(['a', 'b', 'c'], 2, 5)).toEqual(['a', 'b', 'c']);
	});

	it('drops an item at a position', () => {
		expect(moveTo(['a', 'b', 'c', 'd'], 0, 2)).toEqual(['b', 'c', 'a', 'd']);
		expect(moveTo(['a', 'b', 'c', 'd'], 3, 0)).toEqual(['d', 'a', 'b', 'c']);
	});

	it('removes by index', () => {
		expect(withoutIndex(['a', 'b', 'c'], 1)).toEqual(['a', 'c']);
	});
});

describe('choices', () => {
	it('adds up to six choices', () => {
		let q = newQuestion();
		for (let i = 0; i < 10; i++) q = addChoice(q);
		expect(q.choices).toHaveLength(6);
	});

	it('keeps one correct choice in a single question, many in a multiple one', () => {
		let single = filled(newQuestion(), ['a', 'b', 'c'], [0]);
		single = markCorrect(single, 2, true);
		expect(single.choices.map((c) => c.correct)).toEqual([false, false, true]);
		let multi = filled({ ...newQuestion(), type: 'multiple' }, ['a', 'b', 'c'], [0]);
		multi = markCorrect(multi, 2, true);
		expect(multi.choices.map((c) => c.correct)).toEqual([true, false, true]);
	});

	it('true/false gets exactly two named choices, one of them correct', () => {
		const q = changeType(filled(newQuestion(), ['', '', 'x']), 'true_false', TF);
		expect(q.choices.map((c) => [c.text, c.correct])).toEqual([
			['True', true],
			['False', false]
		]);
		expect(addChoice(q).choices).toHaveLength(2);
	});

	it('keeps what was typed across a detour through another type', () => {
		const q = filled(newQuestion(), ['a', 'b'], [1]);
		const back = changeType(changeType(q, 'slider', TF), 'single', TF);
		expect(back.choices).toEqual(q.choices);
	});
});

describe('the API shape', () => {
	it('sends only the fields of each type', () => {
		const quiz = newQuiz();
		quiz.title = 'T';
		quiz.questions = [
			filled(newQuestion(), ['a', 'b'], [1]),
			{ ...filled(newQuestion(), ['x', 'y'], [0]), type: 'poll' },
			{ ...filled(newQuestion(), ['1', '2'], [1]), type: 'order' },
			{ ...newQuestion('text'), text: 'T', accepted_answers: [{ key: 'a', text: 'Paris', correct: false }] },
			{ ...newQuestion('slider'), text: 'S', image: '  ' }
		];
		const body = toApi(quiz);
		expect(body.questions[0]).toMatchObject({
			type: 'single',
			choices: [
				{ text: 'a', correct: false },
				{ text: 'b', correct: true }
			],
			accepted_answers: null,
			slider: null,
			image: null
		});
		expect(body.questions[1]!.choices!.every((c) => !c.correct)).toBe(true);
		expect(body.questions[2]!.choices!.every((c) => !c.correct)).toBe(true);
		expect(body.questions[3]).toMatchObject({ choices: null, accepted_answers: ['Paris'], slider: null });
		expect(body.questions[4]).toMatchObject({
			choices: null,
			accepted_answers: null,
			slider: { min: 0, max: 10, step: 1, correct: 5, tolerance: 0 }
		});
	});

	it('round-trips through the server shape', () => {
		const quiz = newQuiz();
		quiz.title = 'Round';
		quiz.questions = [filled(newQuestion(), ['a', 'b'], [0]), { ...newQuestion('slider'), text: 'S' }];
		const body = toApi(quiz);
		const again = fromApi({ ...body, description: body.description ?? '', public: false, language: null, tags: body.tags ?? [], questions: body.questions as unknown as Record<string, unknown>[] });
		expect(toApi(again)).toEqual(body);
		expect(sameQuiz(quiz, again)).toBe(true);
	});

	it('sends tags typed with commas as a list, and shows a list as such text', () => {
		const quiz = { ...newQuiz(), tags: ' maths, , year 7 ,' };
		expect(toApi(quiz).tags).toEqual(['maths', 'year 7']);
		const back = fromApi({ title: '', tags: toApi(quiz).tags ?? [], description: '', public: false, language: null, questions: [] });
		expect(back.tags).toBe('maths, year 7');
	});

	it('notices a change that would be saved, not a change of keys', () => {
		const a = newQuiz();
		const b = { ...a, questions: a.questions.map((q) => ({ ...q, key: 'other' })) };
		expect(sameQuiz(a, b)).toBe(true);
		expect(sameQuiz(a, { ...a, title: 'x' })).toBe(false);
	});
});

describe('the preview', () => {
	it('shows choices without their correctness, ids in authored order', () => {
		const q = toPublic(filled(newQuestion(), ['a', 'b'], [1]));
		expect(q.choices).toEqual([
			{ id: 0, text: 'a' },
			{ id: 1, text: 'b' }
		]);
		expect(JSON.stringify(q)).not.toContain('correct');
	});
});

describe('server errors', () => {
	it('land on the field they name', () => {
		const quiz = addQuestion(newQuiz());
		const fields = fieldPaths(quiz);
		expect(fieldFor('questions.1.choices.1.text', fields)).toBe('questions.1.choices.1.text');
		expect(fieldFor('questions.0.choices', fields)).toBe('questions.0.choices');
		expect(fieldFor('questions.0.slider.min', fields)).toBe('questions.0.slider.min');
		expect(fieldFor('title', fields)).toBe('title');
	});
});

describe('drafts', () => {
	it('are kept per quiz', () => {
		expect(draftKey(null)).not.toBe(draftKey('abc'));
	});

	it('read back what was stored and refuse anything else', () => {
		const quiz = newQuiz();
		const draft = parseDraft(JSON.stringify({ quiz, saved_at: 5 }));
		expect(draft?.quiz).toEqual(quiz);
		expect(parseDraft('{')).toBeNull();
		expect(parseDraft(JSON.stringify({ quiz: { title: 1 }, saved_at: 5 }))).toBeNull();
		expect(parseDraft(null)).toBeNull();
	});
});
