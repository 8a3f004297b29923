/**
 * A finished game's outcome for this player, kept per PIN in localStorage.
 *
 * Once a game is over the server refuses its tokens (`game_over`) and sends no
 * `welcome`, so a reload on the podium would otherwise lose the final rank and
 * the way to the player's own results. PINs are reused by later games, so the
 * record is only shown while the PIN has no new game (see the player page).
 */
import type { FinalResult } from '$lib/generated/socket';
import type { KeyValueStore } from '$lib/live';

export interface FinishedGame {
	gameId: string;
	nickname: string;
	title: string;
	final: FinalResult;
	/** The player token, for GET /api/v1/results/{game_id}/me. */
	playerToken: string;
}

const key = (pin: string) => `cq:player_final:${pin}`;

function storage(): KeyValueStore | null {
	try {
		return globalThis.localStorage ?? null;
	} catch {
		return null;
	}
}

export function saveFinished(pin: string, game: FinishedGame, store = storage()): void {
	store?.setItem(key(pin), JSON.stringify(game));
}

export function loadFinished(pin: string, store = storage()): FinishedGame | null {
	const raw = store?.getItem(key(pin));
	if (!raw) return null;
	try {
		const value = JSON.parse(raw) as Partial<FinishedGame>;
		const ok =
			typeof value.gameId === 'string' &&
			typeof value.playerToken === 'string' &&
			typeof value.final?.rank === 'number';
		return ok ? (value as FinishedGame) : null;
	} catch {
		return null;
	}
}

export function forgetFinished(pin: string, store = storage()): void {
	store?.removeItem(key(pin));
}
