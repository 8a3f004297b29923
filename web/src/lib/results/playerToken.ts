/**
 * Which player token opens /results/{game_id}/me on this device.
 *
 * GET /api/v1/results/{game_id}/me takes the player's token as a bearer header. A
 * link may carry it in the fragment (`#token=…`: never sent to a server, so never
 * in a log), otherwise the token is the one the player page kept with the finished
 * game (finalstore.ts, per PIN in localStorage) when the game ended on this phone.
 */
import { loadFinished } from '$lib/player/finalstore';

const FINAL_PREFIX = 'cq:player_final:';

export function tokenFromFragment(hash: string): string | null {
	const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
	return token ? token : null;
}

/** The token of `gameId` among the finished games kept on this device, if any. */
export function savedToken(
	gameId: string,
	store: Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'length' | 'key'> | null = localStore()
): string | null {
	if (!store) return null;
	for (let i = 0; i < store.length; i++) {
		const key = store.key(i);
		if (!key?.startsWith(FINAL_PREFIX)) continue;
		const saved = loadFinished(key.slice(FINAL_PREFIX.length), store);
		if (saved?.gameId === gameId) return saved.playerToken;
	}
	return null;
}

function localStore(): Storage | null {
	try {
		return globalThis.localStorage ?? null;
	} catch {
		return null;
	}
}
