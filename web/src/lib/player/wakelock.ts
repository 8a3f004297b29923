/**
 * Keep a phone's screen on while a game runs (Screen Wake Lock API), so it does not
 * sleep between questions and drop the connection. Browsers release the lock when the
 * tab is hidden, so it is asked for again each time the page becomes visible. Where the
 * API is missing or refuses (no user gesture yet, battery saver), nothing happens: the
 * reconnect logic (live.ts) still brings the player back.
 */
export function keepScreenAwake(): () => void {
	if (typeof navigator === 'undefined' || !('wakeLock' in navigator)) return () => {};
	let sentinel: WakeLockSentinel | null = null;
	let stopped = false;
	const acquire = async () => {
		if (stopped || document.visibilityState !== 'visible' || (sentinel && !sentinel.released)) return;
		try {
			const lock = await navigator.wakeLock.request('screen');
			if (stopped) void lock.release();
			else sentinel = lock;
		} catch {
			// refused (not allowed now): try again on the next visibility change
		}
	};
	const onVisibility = () => void acquire();
	document.addEventListener('visibilitychange', onVisibility);
	void acquire();
	return () => {
		stopped = true;
		document.removeEventListener('visibilitychange', onVisibility);
		if (sentinel && !sentinel.released) void sentinel.release();
		sentinel = null;
	};
}
