/**
 * Server refusals turned into what a form shows: one message per field it names
 * (next to that field, in role=alert), and one for the form as a whole.
 *
 * The server is the only judge of what is valid (the web app, the mobile app and
 * scripts must all get the same answer), so forms send what was typed and show
 * the answer here instead of repeating the rules in the browser.
 */
import { ApiError, type FieldProblem } from '$lib/api';

/** A translate function loose enough for keys built at run time. */
export type Translate = (key: string, options?: Record<string, unknown>) => string;

/** What a form shows after a refusal: messages by field key, and one for the form. */
export interface FormErrors {
	fields: Record<string, string>;
	general: string | null;
}

export const NO_ERRORS: FormErrors = { fields: {}, general: null };

/**
 * Refusals without `details` that still name one field (409 `email_taken` is
 * about the email): which field each code belongs to.
 */
const CODE_FIELDS: Record<string, string> = {
	email_taken: 'email',
	username_taken: 'username',
	invalid_code: 'code'
};

/**
 * The form field (one of `fields`) a server field path is about: the same key, or
 * the longest key the path starts with (`settings.nicknames.roster.3` is about
 * `settings.nicknames.roster`). `null` when no field of the form matches.
 */
export function fieldFor(path: string | null, fields: readonly string[]): string | null {
	if (path === null) return null;
	let best: string | null = null;
	for (const key of fields) {
		if ((path === key || path.startsWith(key + '.')) && (best === null || key.length > best.length)) {
			best = key;
		}
	}
	return best;
}

/**
 * A message in the user's language when we have one for this field and code
 * in this form (`teacher.errors.register.password.string_too_short`: the same
 * code means another rule in another form), or this field and code, or this
 * code; else the server's own (English) message, which always says what is wrong.
 * A translation may quote the server's message as `{{server}}` (it carries numbers
 * such as this server's player cap).
 */
export function messageFor(
	t: Translate,
	field: string | null,
	code: string,
	fallback: string,
	scope?: string
): string {
	const keys = [
		scope && field ? `teacher.errors.${scope}.${field}.${code}` : '',
		field ? `teacher.errors.${field}.${code}` : '',
		`teacher.errors.${code}`
	].filter(Boolean);
	for (const key of keys) {
		const text = t(key, { defaultValue: '', server: fallback });
		if (text) return text;
	}
	return fallback || t('errors.unknown', { code });
}

/** Spread any error over the fields of a form (see the module comment). */
export function formErrors(
	error: unknown,
	fields: readonly string[],
	t: Translate,
	scope?: string
): FormErrors {
	if (!(error instanceof ApiError)) {
		return { fields: {}, general: t('errors.unknown', { code: String(error) }) };
	}
	if (error.code === 'network') return { fields: {}, general: t('errors.network') };
	const out: FormErrors = { fields: {}, general: null };
	const problems: FieldProblem[] = error.details.length
		? error.details
		: [{ field: CODE_FIELDS[error.code] ?? null, code: error.code, message: error.message }];
	const unplaced: string[] = [];
	for (const problem of problems) {
		const field = fieldFor(problem.field, fields);
		const text = messageFor(t, field, problem.code, problem.message, scope);
		if (field === null) unplaced.push(text);
		else if (!(field in out.fields)) out.fields[field] = text; // the first problem of a field
	}
	if (unplaced.length) out.general = unplaced.join(' ');
	return out;
}

/**
 * After a refusal, take the user to the first field the server complained about
 * (focused, so a screen reader reads its label and message), else to the form's
 * own message. Call once the messages are on the page.
 */
export function focusFirstProblem(form: HTMLElement | undefined | null): void {
	const target = form?.querySelector<HTMLElement>('[aria-invalid="true"], [role="alert"]');
	if (!target) return;
	if (target.getAttribute('role') === 'alert') target.setAttribute('tabindex', '-1');
	target.focus();
	target.scrollIntoView({ block: 'center' });
}
