/**
 * The presenter screen's two heavy extras, loaded only when used so that the
 * player's `/play` bundle never carries them (the 150 kB budget):
 * the QR code of the join link and the podium's confetti.
 */

/** A PNG data URL of a QR code for `text` (the join link `/play?pin=…`). */
export async function qrDataUrl(text: string, size = 512): Promise<string> {
	const { toDataURL } = await import('qrcode');
	// Medium error correction survives a projector's glare; a quiet zone of 2 modules.
	return toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: size });
}

/** Whether the user asked the system for less motion (no confetti then). */
export function prefersReducedMotion(
	matchMedia: ((query: string) => { matches: boolean }) | undefined = globalThis.matchMedia?.bind(globalThis)
): boolean {
	return matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;
}

/** A burst of confetti over the page, unless the user prefers reduced motion. */
export async function celebrate(): Promise<boolean> {
	if (prefersReducedMotion()) return false;
	const { default: confetti } = await import('canvas-confetti');
	await confetti({ particleCount: 160, spread: 80, origin: { y: 0.6 }, disableForReducedMotion: true });
	return true;
}
