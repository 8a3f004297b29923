/**
 * The rules of the Explore page, kept out of the component so they can be tested
 * on their own: what a search asks the server, how tags are compared, what a
 * filter state looks like in the address bar (so "sign in and come back" and a
 * shared link land on the same search), and a runner that searches as the user
 * types without ever showing an answer to a question that is no longer asked.
 */

/** What the user asked for: the words typed, the tags every hit must carry, a language. */
export interface Filters {
	q: string;
	tags: string[];
	language: string;
}

export const NO_FILTERS: Filters = { q: '', tags: [], language: '' };

/** Hits per page ("Load more" asks for the next page). */
export const PAGE_SIZE = 20;

/** How long typing must pause before the search goes out. */
export const DEBOUNCE_MS = 250;

/** The server's limits (classquiz/search/base.py): more would only earn a 422. */
export const MAX_QUERY = 200;
export const MAX_TAGS = 10;
export const MAX_LANGUAGE = 16;

/** A tag as the server compares it: case-insensitively, without surrounding space. */
export function tagKey(tag: string): string {
	return tag.trim().toLocaleLowerCase();
}

/**
 * `tags` with `tag` added, unless it is empty, already there in another case (the
 * server compares tags case-insensitively, so "Maths" and "maths" are one filter),
 * or the server's maximum of tag filters is reached.
 */
export function addTag(tags: readonly string[], tag: string): string[] {
	const clean = tag.trim();
	if (!clean || tags.length >= MAX_TAGS || tags.some((t) => tagKey(t) === tagKey(clean))) return [...tags];
	return [...tags, clean];
}

export function removeTag(tags: readonly string[], tag: string): string[] {
	return tags.filter((t) => tagKey(t) !== tagKey(tag));
}

/**
 * Tags worth offering as filter chips: those of the hits shown, most frequent first
 * (then alphabetically), one per case-insensitive key, without the ones already chosen.
 */
export function suggestedTags(
	hits: readonly { tags: readonly string[] }[],
	chosen: readonly string[],
	limit = 12
): string[] {
	const taken = new Set(chosen.map(tagKey));
	const counts = new Map<string, { tag: string; count: number }>();
	for (const hit of hits) {
		for (const tag of new Set(hit.tags)) {
			const key = tagKey(tag);
			if (!key || taken.has(key)) continue;
			const seen = counts.get(key);
			if (seen) seen.count += 1;
			else counts.set(key, { tag: tag.trim(), count: 1 });
		}
	}
	return [...counts.values()]
		.sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag))
		.slice(0, limit)
		.map((entry) => entry.tag);
}

/** The query parameters of `GET /api/v1/search` for these filters and page. */
export function searchParams(
	filters: Filters,
	offset = 0,
	limit = PAGE_SIZE
): {
	q: string;
	limit: number;
	offset: number;
	tags?: string[];
	language?: string;
} {
	const params: {
		q: string;
		limit: number;
		offset: number;
		tags?: string[];
		language?: string;
	} = {
		q: filters.q.trim().slice(0, MAX_QUERY),
		limit,
		offset
	};
	if (filters.tags.length) params.tags = [...filters.tags];
	if (filters.language) params.language = filters.language;
	return params;
}

/** The filters written in a page address (`?q=…&tag=…&tag=…&lang=…`). */
export function filtersFromUrl(search: URLSearchParams): Filters {
	let tags: string[] = [];
	for (const tag of search.getAll('tag')) tags = addTag(tags, tag);
	return {
		q: (search.get('q') ?? '').slice(0, MAX_QUERY),
		tags,
		language: (search.get('lang') ?? '').trim().slice(0, MAX_LANGUAGE)
	};
}

/** The address query for these filters ('' for none): the inverse of `filtersFromUrl`. */
export function filtersToUrl(filters: Filters): string {
	const search = new URLSearchParams();
	if (filters.q.trim()) search.set('q', filters.q);
	for (const tag of filters.tags) search.append('tag', tag);
	if (filters.language) search.set('lang', filters.language);
	const text = search.toString();
	return text ? `?${text}` : '';
}

/**
 * Searches as the user types: `schedule` waits for a pause in typing, `now` goes
 * at once (a chip pressed, "Load more"). Starting a request aborts the one before,
 * and an answer is delivered only while its request is still the latest, so a slow
 * answer to an old query can never replace the answer to the new one.
 */
export class LatestOnly<T> {
	private timer: ReturnType<typeof setTimeout> | null = null;
	private controller: AbortController | null = null;
	private generation = 0;

	constructor(
		private readonly delayMs: number,
		private readonly onresult: (result: T) => void,
		private readonly onerror: (error: unknown) => void
	) {}

	/** Run `request` once typing has paused for the delay (a newer call replaces it). */
	schedule(request: (signal: AbortSignal) => Promise<T>): void {
		this.cancel();
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.now(request);
		}, this.delayMs);
	}

	/** Run `request` at once, abandoning any pending or running one. */
	async now(request: (signal: AbortSignal) => Promise<T>): Promise<void> {
		this.cancel();
		const generation = this.generation;
		const controller = new AbortController();
		this.controller = controller;
		try {
			const result = await request(controller.signal);
			if (generation === this.generation) this.onresult(result);
		} catch (error) {
			if (generation === this.generation && !controller.signal.aborted) this.onerror(error);
		} finally {
			if (this.controller === controller) this.controller = null;
		}
	}

	/** Forget the pending request and abort the running one (their answers are dropped). */
	cancel(): void {
		this.generation += 1;
		if (this.timer !== null) clearTimeout(this.timer);
		this.timer = null;
		this.controller?.abort();
		this.controller = null;
	}

	/** Whether a request is waiting or running. */
	get busy(): boolean {
		return this.timer !== null || this.controller !== null;
	}
}
