/**
 * One retry for a command the server refused as `rate_limited`.
 *
 * The server counts every event of a socket in one-second windows and refuses the ones
 * past its limit (SPEC §5) without carrying them out, so sending the same command again
 * once the window is over cannot apply it twice. It is sent again only if the game is
 * still in the state the command was meant for: the host's commands act on the current
 * state, so a retry after the game moved on (another screen pressed "Next question"
 * meanwhile, the question closed by itself) would act on a state the person never saw.
 * The person hears about the refusal only when the second try is refused as well.
 */

/** The part of every acknowledgement the retry looks at. */
export interface Ack {
	ok: boolean;
	error?: { code: string };
}

/** Longer than the server's one-second counting window, so the retry lands in a fresh one. */
export const RATE_LIMIT_RETRY_MS = 1_100;

export interface RetryOptions {
	/** Whether the command still means what it meant when it was first sent. */
	stillWanted: () => boolean;
	/** How to wait (a test passes its own). */
	wait?: (ms: number) => Promise<void>;
	delayMs?: number;
}

export function isRateLimited(reply: Ack): boolean {
	return !reply.ok && reply.error?.code === 'rate_limited';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Send, and once more after a pause if the first reply was `rate_limited`. Resolves to
 * the reply to report, or null when the retry was given up because the game moved on
 * (nothing to tell the person: the screen shows the new state).
 */
export async function sendWithRetry<A extends Ack>(send: () => Promise<A>, options: RetryOptions): Promise<A | null> {
	const first = await send();
	if (!isRateLimited(first)) return first;
	await (options.wait ?? sleep)(options.delayMs ?? RATE_LIMIT_RETRY_MS);
	if (!options.stillWanted()) return null;
	return send();
}
