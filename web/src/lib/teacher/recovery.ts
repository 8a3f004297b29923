/**
 * The links the server mails (password reset, e-mail verification) carry their
 * token in the URL fragment (`/reset-password#token=…`): a fragment never reaches
 * a server log or a Referer header. The pages read it here, then take it out of
 * the address bar so it is not left in the history or shared by copying the URL.
 */
import { api, unwrap } from '$lib/api';

/** The `token` of a fragment such as `#token=abc`; null when there is none. */
export function tokenFromHash(hash: string): string | null {
	const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
	const token = params.get('token')?.trim();
	return token ? token : null;
}

/** Read the token of the current page once and remove it from the address bar. */
export function takeTokenFromLocation(): string | null {
	if (typeof location === 'undefined') return null;
	const token = tokenFromHash(location.hash);
	if (token) history.replaceState(history.state, '', location.pathname + location.search);
	return token;
}

/** Whether this server sends mail (no SMTP configured: no reset links, no verification). */
export async function mailEnabled(): Promise<boolean> {
	return (await unwrap(api.GET('/api/v1/account/mail'))).enabled;
}

/** Days an API key may live, as offered on /account; null is "never expires". */
export const KEY_LIFETIMES: readonly (number | null)[] = [30, 90, 365, null];
export const DEFAULT_KEY_LIFETIME = 90;
