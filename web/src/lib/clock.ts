/**
 * The server's clock, as seen from this device.
 *
 * Countdowns must end when the *server* closes the question, and phones and
 * school laptops are often seconds or minutes off. The server stamps `welcome`
 * and every `question_started` with `server_time_ms`; the difference to the
 * local clock at receipt is the offset (late by the one-way network delay). The
 * sample with the largest offset had the shortest delay, so the estimate keeps
 * the best of the last few samples (a few, so a local clock that was corrected
 * meanwhile is forgotten soon).
 *
 * Display code never counts down with a local one-second timer: it recomputes
 * the remaining time from the deadline on each tick (see `countdown`).
 */
import { readable, type Readable } from 'svelte/store';

const KEEP_SAMPLES = 5;

/** `server_time_ms` minus the local time at receipt: + means the server is ahead. */
export function offsetSample(serverTimeMs: number, receivedAtMs: number): number {
	return serverTimeMs - receivedAtMs;
}

/** Milliseconds left until `deadlineAtMs` (a server instant), never negative. */
export function remainingMs(deadlineAtMs: number, offsetMs: number, localNowMs: number): number {
	return Math.max(0, deadlineAtMs - (localNowMs + offsetMs));
}

/** Whole seconds to show for `ms` left: 0.2 s left still shows "1", 0 shows "0". */
export function secondsToShow(ms: number): number {
	return Math.ceil(Math.max(0, ms) / 1000);
}

export class ServerClock {
	private samples: number[] = [];

	constructor(private readonly localNow: () => number = () => Date.now()) {}

	/** Record a message's `server_time_ms` (call it as soon as the message arrives). */
	observe(serverTimeMs: number): void {
		this.samples.push(offsetSample(serverTimeMs, this.localNow()));
		if (this.samples.length > KEEP_SAMPLES) this.samples.shift();
	}

	/** The estimated offset (0 until the first sample). */
	get offsetMs(): number {
		return this.samples.length ? Math.max(...this.samples) : 0;
	}

	/** The server's time now, estimated. */
	now(): number {
		return this.localNow() + this.offsetMs;
	}

	remainingMs(deadlineAtMs: number): number {
		return remainingMs(deadlineAtMs, this.offsetMs, this.localNow());
	}
}

/**
 * A store of the milliseconds left until `deadlineAtMs`, recomputed from the
 * clock each time the shown second changes (and 0 at the end). Subscribing
 * starts it; the last unsubscribe stops it.
 */
export function countdown(clock: ServerClock, deadlineAtMs: number): Readable<number> {
	return readable(clock.remainingMs(deadlineAtMs), (set) => {
		let timer: ReturnType<typeof setTimeout> | undefined;
		const tick = () => {
			const left = clock.remainingMs(deadlineAtMs);
			set(left);
			if (left <= 0) return;
			// Wake just after the displayed number changes: at the next whole second left.
			const untilNextSecond = left % 1000 || 1000;
			timer = setTimeout(tick, untilNextSecond + 5);
		};
		tick();
		return () => clearTimeout(timer);
	});
}
