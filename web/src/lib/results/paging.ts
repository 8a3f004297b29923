/** Small helpers of the results pages: page numbers from the address, dates, tab keys. */

/** `?page=` as a page number from 1; anything else (missing, 0, "x") is page 1. */
export function pageNumber(raw: string | null): number {
	const n = Number(raw);
	return Number.isInteger(n) && n >= 1 ? n : 1;
}

/** An ISO instant as the reader's local date and time, in the app's language. */
export function formatInstant(iso: string, language: string): string {
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return iso;
	return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/**
 * The tab a key moves to in a tab list of `count` tabs (WAI-ARIA tabs pattern):
 * arrows wrap around, Home and End go to the ends; null for any other key.
 */
export function tabAfterKey(key: string, current: number, count: number): number | null {
	if (key === 'ArrowRight') return (current + 1) % count;
	if (key === 'ArrowLeft') return (current - 1 + count) % count;
	if (key === 'Home') return 0;
	if (key === 'End') return count - 1;
	return null;
}
