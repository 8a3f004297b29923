import { get } from 'svelte/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { countdown, offsetSample, remainingMs, secondsToShow, ServerClock } from './clock';

describe('clock offset', () => {
	it('is server time minus local time at receipt (+ means the server is ahead)', () => {
		expect(offsetSample(10_500, 10_000)).toBe(500);
		expect(offsetSample(9_000, 10_000)).toBe(-1_000);
	});

	it('keeps the sample with the shortest network delay (the largest offset)', () => {
		let local = 1_000_000;
		const clock = new ServerClock(() => local);
		// The true offset is +60 000 ms; messages arrive 80, 20 and 150 ms after they were stamped.
		for (const delay of [80, 20, 150]) {
			local += 1_000;
			clock.observe(local + 60_000 - delay);
		}
		expect(clock.offsetMs).toBe(60_000 - 20);
	});

	it('forgets old samples, so a corrected local clock is followed', () => {
		let local = 0;
		const clock = new ServerClock(() => local);
		clock.observe(5_000); // offset +5 s
		for (let i = 0; i < 5; i++) {
			local += 1_000;
			clock.observe(local); // offset 0 from now on
		}
		expect(clock.offsetMs).toBe(0);
	});

	it('is 0 before any message', () => {
		expect(new ServerClock(() => 42).offsetMs).toBe(0);
	});
});

describe('remaining time', () => {
	it('counts to the server deadline, not the local clock', () => {
		// The phone is 30 s behind the server; the question closes at server time 100 000.
		expect(remainingMs(100_000, 30_000, 60_000)).toBe(10_000);
	});

	it('never goes below zero', () => {
		expect(remainingMs(100_000, 0, 200_000)).toBe(0);
	});

	it('shows a started second as a whole one', () => {
		expect(secondsToShow(9_001)).toBe(10);
		expect(secondsToShow(200)).toBe(1);
		expect(secondsToShow(0)).toBe(0);
		expect(secondsToShow(-5)).toBe(0);
	});
});

describe('countdown store', () => {
	beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
	afterEach(() => vi.useRealTimers());

	it('recomputes from the deadline on each tick and stops at zero', () => {
		const clock = new ServerClock();
		clock.observe(Date.now() + 5_000); // server 5 s ahead
		const deadline = Date.now() + 5_000 + 3_500; // 3.5 s left in server time
		const seen: number[] = [];
		const stop = countdown(clock, deadline).subscribe((ms) => seen.push(secondsToShow(ms)));
		vi.advanceTimersByTime(5_000);
		stop();
		expect(seen[0]).toBe(4);
		expect(seen.at(-1)).toBe(0);
		expect(seen).toEqual([4, 3, 2, 1, 0]);
	});

	it('follows the server clock even when ticks are late (a busy or sleeping phone)', () => {
		const clock = new ServerClock();
		clock.observe(Date.now());
		const deadline = Date.now() + 10_000;
		const store = countdown(clock, deadline);
		const stop = store.subscribe(() => {});
		vi.setSystemTime(Date.now() + 7_000); // the phone slept: time moved on, no timer fired
		vi.advanceTimersByTime(1_005); // the one pending tick fires, late
		// 10 s − 7 s asleep − 1 s: the display jumps to the truth, not to "9".
		expect(secondsToShow(get(store))).toBe(2);
		stop();
	});
});
