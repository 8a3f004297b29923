/**
 * Who is signed in. The session itself is the HTTP-only `access_token` cookie the
 * server sets at login: scripts in the page can never read or leak it, so the app
 * asks the server (`GET /users/me`) instead of keeping a token.
 *
 * Only a hint is kept in localStorage: the username of the last sign-in. It lets
 * the header skip the `/me` call for the many visitors who never signed in (every
 * player's phone), and show the teacher's state at once while `/me` confirms it.
 */
import { writable } from 'svelte/store';
import { api, ApiError, unwrap, type Schemas } from '$lib/api';

export type User = Schemas['UserOut'];

/** The signed-in user; `null` when nobody is; `undefined` until we know. */
export const currentUser = writable<User | null | undefined>(undefined);

const HINT_KEY = 'cq:signed-in';

function setHint(username: string | null): void {
	try {
		if (username === null) globalThis.localStorage?.removeItem(HINT_KEY);
		else globalThis.localStorage?.setItem(HINT_KEY, username);
	} catch {
		// storage blocked: the header just asks the server every time
	}
}

/** Whether this browser signed in before (so the session cookie may still be there). */
export function maybeSignedIn(): boolean {
	try {
		return globalThis.localStorage?.getItem(HINT_KEY) !== null;
	} catch {
		return true;
	}
}

function remember(user: User | null): User | null {
	currentUser.set(user);
	setHint(user?.username ?? null);
	return user;
}

/** Forget the signed-in user here at once (the account was just deleted). */
export function forgetUser(): void {
	remember(null);
}

/** Ask the server who is signed in (a 401 means nobody); other failures are thrown. */
export async function refreshUser(): Promise<User | null> {
	try {
		return remember(await unwrap(api.GET('/api/v1/users/me')));
	} catch (error) {
		if (error instanceof ApiError && error.status === 401) return remember(null);
		throw error;
	}
}

/** The header's check: only when this browser signed in before; never throws. */
export async function refreshIfHinted(): Promise<void> {
	if (!maybeSignedIn()) {
		currentUser.set(null);
		return;
	}
	try {
		await refreshUser();
	} catch {
		// offline: keep showing what we knew
	}
}

/**
 * Sign in; the server sets the session cookie. `code` is the one-time code of
 * the second step (a TOTP code or a backup code). A 401 `totp_required` means
 * the password was right and the account wants a code.
 */
export async function signIn(login: string, password: string, code?: string): Promise<User | null> {
	const body: Schemas['LoginIn'] = { login, password, totp: code || null };
	await unwrap(api.POST('/api/v1/users/login', { body }));
	return refreshUser();
}

/** Revoke the token on the server (the cookie goes with it), then forget the user. */
export async function signOut(): Promise<void> {
	try {
		await unwrap(api.POST('/api/v1/users/logout'));
	} catch (error) {
		// Already signed out on the server (expired or revoked): nothing left to revoke.
		if (!(error instanceof ApiError && error.status === 401)) throw error;
	}
	remember(null);
}

/**
 * Where to go after signing in: the page that sent the user here when it is a
 * path of this site, else the quiz list. (`//evil.example` is another site.)
 */
export function nextPath(raw: string | null): string {
	if (raw && raw.startsWith('/') && !raw.startsWith('//') && !raw.startsWith('/\\')) return raw;
	return '/quizzes';
}
