import { describe, expect, it } from 'vitest';
import {
	documentProblemText,
	exportUrl,
	readQuizFile,
	tableForm,
	tableProblems,
	templateUrl
} from './transfer';

describe('addresses', () => {
	it('point at the export and the templates', () => {
		expect(exportUrl('4f0c')).toBe('/api/v1/quizzes/4f0c/export');
		expect(exportUrl('a/b')).toBe('/api/v1/quizzes/a%2Fb/export');
		expect(templateUrl('csv')).toBe('/api/v1/quizzes/import/template.csv');
		expect(templateUrl('xlsx')).toBe('/api/v1/quizzes/import/template.xlsx');
	});
});

describe('readQuizFile', () => {
	it('parses JSON, also behind a byte-order mark', () => {
		expect(readQuizFile('\uFEFF{"format":"classquiz-quiz"}')).toEqual({
			ok: true,
			document: { format: 'classquiz-quiz' }
		});
	});

	it('leaves judging the document to the server', () => {
		expect(readQuizFile('[1, 2]')).toEqual({ ok: true, document: [1, 2] });
	});

	it('refuses what is not JSON at all', () => {
		expect(readQuizFile('  \n')).toEqual({ ok: false, reason: 'empty' });
		expect(readQuizFile('type;question\nsingle;Hi')).toEqual({
			ok: false,
			reason: 'not_json'
		});
	});
});

describe('tableForm', () => {
	it('sends the file under its name, and the title only when typed', async () => {
		const file = new Blob(['type,question\n'], { type: 'text/csv' });
		const plain = tableForm(file, 'science.csv', '   ');
		expect([...plain.keys()]).toEqual(['file']);
		expect((plain.get('file') as File).name).toBe('science.csv');
		const titled = tableForm(file, 'science.csv', ' Week 3 ');
		expect(titled.get('title')).toBe('Week 3');
	});
});

describe('tableProblems', () => {
	it('reads the rows, columns and messages of an invalid_table refusal', () => {
		const body = {
			error: {
				code: 'invalid_table',
				message: 'row 3, column question: …',
				details: [
					{
						row: 3,
						column: 'question',
						message: 'String should have at least 1 character'
					},
					{ row: null, column: null, message: 'no type column' },
					'junk'
				]
			}
		};
		expect(tableProblems(body)).toEqual([
			{
				row: 3,
				column: 'question',
				message: 'String should have at least 1 character'
			},
			{ row: null, column: null, message: 'no type column' }
		]);
	});

	it('is empty for any other body', () => {
		expect(tableProblems(null)).toEqual([]);
		expect(tableProblems('<html>')).toEqual([]);
		expect(tableProblems({ error: { code: 'payload_too_large' } })).toEqual([]);
	});
});

describe('documentProblemText', () => {
	const t = (key: string, options?: Record<string, unknown>) => `${key} ${JSON.stringify(options)}`;

	it('names the question, counted from 1', () => {
		const problem = { field: 'quiz.questions.3.text', message: 'too short', question_index: 3 };
		expect(documentProblemText(problem, t)).toBe('quizzes.import.in_question {"n":4,"message":"too short"}');
	});

	it('else the field, else the message alone', () => {
		expect(documentProblemText({ field: 'format', message: 'unknown format' }, t)).toBe(
			'format: unknown format'
		);
		expect(documentProblemText({ field: null, message: 'not an object' }, t)).toBe('not an object');
	});
});
