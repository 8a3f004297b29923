/**
 * The sample quiz a new teacher can create with one click: one question of each
 * of the seven types, so a first live game shows everything the players' phones
 * and the presenter screen can do. Written in the teacher's language.
 */
import type { Schemas } from '$lib/api';
import type { Translate } from './errors';

type Question = Schemas['QuestionIn'];

function question(
	type: Question['type'],
	text: string,
	extra: Partial<Question> = {}
): Question {
	return {
		type,
		text,
		image: null,
		time_limit_s: 30,
		points: 1,
		choices: null,
		accepted_answers: null,
		slider: null,
		...extra
	};
}

function choices(t: Translate, key: string, correct: readonly number[], count: number): Schemas['ChoiceIn'][] {
	return Array.from({ length: count }, (_, i) => ({
		text: t(`teacher.sample.${key}.choices.${i}`),
		correct: correct.includes(i)
	}));
}

/** The seven question types, in the order the sample quiz asks them. */
export const SAMPLE_TYPES = ['single', 'multiple', 'true_false', 'text', 'slider', 'order', 'poll'] as const;

/** The sample quiz (a valid `QuizIn`: tests/web create it through the page). */
export function sampleQuiz(t: Translate, language: string): Schemas['QuizIn'] {
	return {
		title: t('teacher.sample.title'),
		description: t('teacher.sample.description'),
		public: false,
		language,
		tags: [],
		questions: [
			question('single', t('teacher.sample.single.text'), { choices: choices(t, 'single', [1], 4) }),
			question('multiple', t('teacher.sample.multiple.text'), {
				choices: choices(t, 'multiple', [0, 1], 4),
				points: 2
			}),
			question('true_false', t('teacher.sample.true_false.text'), {
				choices: choices(t, 'true_false', [0], 2),
				time_limit_s: 20
			}),
			question('text', t('teacher.sample.text.text'), {
				accepted_answers: [t('teacher.sample.text.answer')]
			}),
			question('slider', t('teacher.sample.slider.text'), {
				slider: { min: 0, max: 180, step: 1, correct: 90, tolerance: 5 }
			}),
			question('order', t('teacher.sample.order.text'), { choices: choices(t, 'order', [], 4) }),
			question('poll', t('teacher.sample.poll.text'), {
				choices: choices(t, 'poll', [], 3),
				points: 0
			})
		]
	};
}
