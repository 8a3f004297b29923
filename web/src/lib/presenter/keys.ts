/**
 * Small rules of the presenter page, kept pure so they are unit-tested: where the
 * host token comes from, and when a key press is typing rather than a shortcut.
 */

/** The host token of a `#token=…` fragment, or null (other fragments are ignored). */
export function hostTokenFromHash(hash: string): string | null {
	const params = new URLSearchParams(hash.replace(/^#/, ''));
	const token = params.get('token')?.trim();
	return token ? token : null;
}

/** The game's PIN of a presenter link's fragment (`#token=…&pin=…`), or null. */
export function hostPinFromHash(hash: string): string | null {
	const pin = new URLSearchParams(hash.replace(/^#/, '')).get('pin')?.trim();
	return pin && /^[0-9]{6}$/.test(pin) ? pin : null;
}

/** Whether a key press goes into a field (then Space, Enter and F are not shortcuts). */
export function isTypingTarget(target: EventTarget | null): boolean {
	const el = target as { tagName?: string; isContentEditable?: boolean } | null;
	if (!el?.tagName) return false;
	return el.isContentEditable === true || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}
