import { describe, expect, it } from 'vitest';
import { RATE_LIMIT_RETRY_MS, sendWithRetry, type Ack } from './retry';

const limited: Ack = { ok: false, error: { code: 'rate_limited' } };
const accepted: Ack = { ok: true };
const wrongState: Ack = { ok: false, error: { code: 'wrong_state' } };

/** A server stand-in that answers with the given replies in turn and counts the sends. */
function replies(...answers: Ack[]) {
	const sent: number[] = [];
	return {
		sent,
		send: async () => {
			sent.push(sent.length);
			const answer = answers[sent.length - 1];
			if (!answer) throw new Error('sent more often than expected');
			return answer;
		}
	};
}

function recordedWaits() {
	const waits: number[] = [];
	return { waits, wait: async (ms: number) => void waits.push(ms) };
}

describe('a rate-limited command', () => {
	it('is sent once when accepted, without waiting', async () => {
		const server = replies(accepted);
		const clock = recordedWaits();
		expect(await sendWithRetry(server.send, { stillWanted: () => true, wait: clock.wait })).toEqual(accepted);
		expect(server.sent).toHaveLength(1);
		expect(clock.waits).toEqual([]);
	});

	it('is not retried for any other refusal', async () => {
		const server = replies(wrongState);
		const clock = recordedWaits();
		expect(await sendWithRetry(server.send, { stillWanted: () => true, wait: clock.wait })).toEqual(wrongState);
		expect(server.sent).toHaveLength(1);
		expect(clock.waits).toEqual([]);
	});

	it('is sent again once after a pause longer than the server window, and the retry is what counts', async () => {
		const server = replies(limited, accepted);
		const clock = recordedWaits();
		expect(await sendWithRetry(server.send, { stillWanted: () => true, wait: clock.wait })).toEqual(accepted);
		expect(server.sent).toHaveLength(2);
		expect(clock.waits).toEqual([RATE_LIMIT_RETRY_MS]);
		expect(RATE_LIMIT_RETRY_MS).toBeGreaterThan(1_000);
	});

	it('is reported when the retry is refused too, and never sent a third time', async () => {
		const server = replies(limited, limited);
		const clock = recordedWaits();
		expect(await sendWithRetry(server.send, { stillWanted: () => true, wait: clock.wait })).toEqual(limited);
		expect(server.sent).toHaveLength(2);
	});

	it('is dropped, not resent, when the game moved on during the pause', async () => {
		const server = replies(limited);
		let phase = 'reveal:0';
		const sentIn = phase;
		const clock = {
			wait: async () => {
				phase = 'question:1'; // another screen pressed Next meanwhile
			}
		};
		expect(await sendWithRetry(server.send, { stillWanted: () => phase === sentIn, wait: clock.wait })).toBeNull();
		expect(server.sent).toHaveLength(1);
	});

	it('waits for real by default', async () => {
		const server = replies(limited, accepted);
		const started = Date.now();
		expect(await sendWithRetry(server.send, { stillWanted: () => true, delayMs: 50 })).toEqual(accepted);
		expect(Date.now() - started).toBeGreaterThanOrEqual(45);
	});
});
