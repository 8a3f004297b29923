/**
 * Moving quizzes in and out of "My quizzes" (docs/import.md): the addresses of the
 * downloads, reading a chosen quiz file before it is sent, and the row-by-row
 * problems of a refused table.
 *
 * The server is the judge of every file: the browser only turns a file into what
 * the endpoint takes (a JSON body, a multipart form) and reads the refusal back,
 * so the web app, scripts and the mobile app get the same answer for the same file.
 */
import type { Translate } from '$lib/teacher/errors';

/** The downloadable question table templates, by extension. */
export const TEMPLATE_FORMATS = ['csv', 'xlsx'] as const;
export type TemplateFormat = (typeof TEMPLATE_FORMATS)[number];

/** Where the template of a format downloads from (no sign-in needed). */
export function templateUrl(format: TemplateFormat): string {
	return `/api/v1/quizzes/import/template.${format}`;
}

/**
 * Where a quiz's JSON document downloads from. The server answers with
 * `Content-Disposition: attachment`, so a plain link (with the session cookie)
 * saves the file under the server's name for it.
 */
export function exportUrl(quizId: string): string {
	return `/api/v1/quizzes/${encodeURIComponent(quizId)}/export`;
}

/** A quiz file as read in the browser: the parsed JSON, or why it is not JSON at all. */
export type QuizFile = { ok: true; document: unknown } | { ok: false; reason: 'empty' | 'not_json' };

/**
 * The JSON of a chosen file. Only a file that is not JSON is refused here (it
 * could not even be sent as a JSON body); whether it is a quiz document of a
 * version this server reads is the server's answer.
 */
export function readQuizFile(text: string): QuizFile {
	const trimmed = text.replace(/^\uFEFF/, '').trim();
	if (!trimmed) return { ok: false, reason: 'empty' };
	try {
		return { ok: true, document: JSON.parse(trimmed) };
	} catch {
		return { ok: false, reason: 'not_json' };
	}
}

/** The body of a table import: the file, and the title only when one was typed. */
export function tableForm(file: Blob, filename: string, title: string): FormData {
	const form = new FormData();
	form.append('file', file, filename);
	if (title.trim()) form.append('title', title.trim());
	return form;
}

/** One problem of a refused table; `row` and `column` are null for the whole file. */
export interface TableProblem {
	row: number | null;
	column: string | null;
	message: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The row-by-row problems in a table import's error body
 * (`{error: {code: "invalid_table", details: [{row, column, message}]}}`), in the
 * server's order (rows as a spreadsheet numbers them). The generic error reader
 * keeps only field paths, so the rows are read here. Empty for any other body.
 */
export function tableProblems(body: unknown): TableProblem[] {
	if (!isRecord(body) || !isRecord(body.error) || !Array.isArray(body.error.details)) return [];
	return body.error.details.filter(isRecord).map((detail) => ({
		row: typeof detail.row === 'number' ? detail.row : null,
		column: typeof detail.column === 'string' ? detail.column : null,
		message: typeof detail.message === 'string' ? detail.message : ''
	}));
}

/**
 * One problem of a refused quiz file in words a teacher can act on: "Question 4:
 * …" when the server names a question (its `question_index` counts from 0), else
 * the field it names (`format: …`), else the server's message alone.
 */
export function documentProblemText(
	problem: { field: string | null; message: string; question_index?: number },
	t: Translate
): string {
	if (typeof problem.question_index === 'number') {
		return t('quizzes.import.in_question', { n: problem.question_index + 1, message: problem.message });
	}
	return problem.field ? `${problem.field}: ${problem.message}` : problem.message;
}
