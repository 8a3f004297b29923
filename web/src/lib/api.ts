/**
 * The REST API, typed from the server's OpenAPI document (generated/openapi.ts).
 *
 *   const game = await unwrap(api.GET('/api/v1/games/{pin}', { params: { path: { pin } } }));
 *
 * `api` is an openapi-fetch client: paths, parameters, bodies and answers are
 * checked against the contract at compile time. `unwrap` turns every failure
 * into one `ApiError` carrying the server's error shape (`{error: {code,
 * message, details}}`), so screens branch on `code` and show field errors from
 * `details` next to the field they name. A teacher's session rides on the
 * `access_token` cookie the login sets (same origin); a player's own results
 * need the player token: pass `{ headers: bearer(token) }`.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/openapi';

export type Schemas = components['schemas'];
export type ErrorBody = Schemas['ErrorBody'];

/** One problem with one field, as the server's validation errors list them. */
export interface FieldProblem {
	field: string | null;
	code: string;
	message: string;
	question_index?: number;
}

/** A failed API call: the HTTP status and the server's error (or `network` when none came). */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details: FieldProblem[] = []
	) {
		super(message);
		this.name = 'ApiError';
	}

	/** The problems reported for `field` (e.g. `title`, `questions.0.text`). */
	problemsFor(field: string): FieldProblem[] {
		return this.details.filter((d) => d.field === field);
	}
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asProblem(value: unknown): FieldProblem | null {
	if (!isRecord(value)) return null;
	const problem: FieldProblem = {
		field: typeof value.field === 'string' ? value.field : null,
		code: typeof value.code === 'string' ? value.code : 'invalid',
		message: typeof value.message === 'string' ? value.message : ''
	};
	if (typeof value.question_index === 'number') problem.question_index = value.question_index;
	return problem;
}

/**
 * The `ApiError` for an answer with `status` and parsed body `body`. A body that is
 * not the server's error shape (a proxy's HTML page, say) still gives a usable
 * error: code `http_<status>`.
 */
export function apiErrorFrom(status: number, body: unknown): ApiError {
	const error = isRecord(body) && isRecord(body.error) ? body.error : null;
	if (!error || typeof error.code !== 'string') {
		return new ApiError(status, `http_${status}`, `the server answered ${status}`);
	}
	const details = Array.isArray(error.details)
		? error.details.map(asProblem).filter((d): d is FieldProblem => d !== null)
		: [];
	const message = typeof error.message === 'string' ? error.message : error.code;
	return new ApiError(status, error.code, message, details);
}

/** The typed client; paths are absolute (`/api/v1/…`) on the page's own origin. */
export const api = createClient<paths>({
	baseUrl: typeof location === 'undefined' ? 'http://localhost:8000' : location.origin,
	credentials: 'same-origin'
});

/** `Authorization` header for a bearer token (a player token, an API key). */
export function bearer(token: string): Record<string, string> {
	return { Authorization: `Bearer ${token}` };
}

/**
 * The data of a successful call, or an `ApiError`: the server's error, or
 * `network` (status 0) when the server could not be reached.
 */
export async function unwrap<T>(
	call: Promise<{ data?: T; error?: unknown; response: Response }>
): Promise<T> {
	let result: { data?: T; error?: unknown; response: Response };
	try {
		result = await call;
	} catch (cause) {
		throw new ApiError(0, 'network', cause instanceof Error ? cause.message : String(cause));
	}
	if (!result.response.ok) throw apiErrorFrom(result.response.status, result.error);
	return result.data as T;
}
