import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
	addTag,
	filtersFromUrl,
	filtersToUrl,
	LatestOnly,
	MAX_TAGS,
	removeTag,
	searchParams,
	suggestedTags
} from './search';

describe('tags', () => {
	it('are one filter whatever their case, and never empty', () => {
		expect(addTag(['Maths'], 'maths')).toEqual(['Maths']);
		expect(addTag(['Maths'], '  code ')).toEqual(['Maths', 'code']);
		expect(addTag(['Maths'], '   ')).toEqual(['Maths']);
		expect(removeTag(['Maths', 'code'], 'MATHS')).toEqual(['code']);
	});

	it('stop at the server maximum of tag filters', () => {
		let tags: string[] = [];
		for (let i = 0; i < MAX_TAGS + 3; i++) tags = addTag(tags, `tag${i}`);
		expect(tags).toHaveLength(MAX_TAGS);
		expect(filtersFromUrl(new URLSearchParams(tags.map((t) => `tag=${t}`).join('&') + '&tag=x')).tags).toHaveLength(
			MAX_TAGS
		);
	});

	it('are suggested from the hits, most frequent first, without the chosen ones', () => {
		const hits = [
			{ tags: ['code', 'Python'] },
			{ tags: ['python', 'maths'] },
			{ tags: ['Python', 'python'] },
			{ tags: ['code'] }
		];
		expect(suggestedTags(hits, [])).toEqual(['Python', 'code', 'maths']);
		expect(suggestedTags(hits, ['PYTHON'])).toEqual(['code', 'maths']);
		expect(suggestedTags(hits, [], 1)).toEqual(['Python']);
	});
});

describe('search parameters', () => {
	it('send only the filters that are set', () => {
		expect(searchParams({ q: '  pythn ', tags: [], language: '' })).toEqual({
			q: 'pythn',
			limit: 20,
			offset: 0
		});
		expect(searchParams({ q: '', tags: ['a', 'b'], language: 'de' }, 40, 10)).toEqual({
			q: '',
			limit: 10,
			offset: 40,
			tags: ['a', 'b'],
			language: 'de'
		});
	});

	it('cut a query to the server limit rather than earn a 422', () => {
		expect(searchParams({ q: 'x'.repeat(500), tags: [], language: '' }).q).toHaveLength(200);
	});

	it('round-trip through the page address', () => {
		const filters = {
			q: 'photo synthesis',
			tags: ['biology', 'A&B'],
			language: 'pt-BR'
		};
		const url = filtersToUrl(filters);
		expect(filtersFromUrl(new URLSearchParams(url))).toEqual(filters);
		expect(filtersToUrl({ q: ' ', tags: [], language: '' })).toBe('');
		expect(filtersFromUrl(new URLSearchParams('tag=x&tag=X'))).toEqual({
			q: '',
			tags: ['x'],
			language: ''
		});
	});
});

describe('LatestOnly', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	/** A request that answers `value` when its `resolve` is called, and notes aborts. */
	function pending(value: string) {
		let resolve = () => {};
		let aborted = false;
		const request = (signal: AbortSignal) =>
			new Promise<string>((done, fail) => {
				resolve = () => done(value);
				signal.addEventListener('abort', () => {
					aborted = true;
					fail(new DOMException('aborted', 'AbortError'));
				});
			});
		return { request, resolve: () => resolve(), aborted: () => aborted };
	}

	it('waits for a pause in typing and sends only the last query', async () => {
		const results: string[] = [];
		const sent: string[] = [];
		const runner = new LatestOnly<string>(
			250,
			(r) => results.push(r),
			() => {}
		);
		for (const q of ['p', 'py', 'pyt']) {
			runner.schedule(async () => {
				sent.push(q);
				return q;
			});
			await vi.advanceTimersByTimeAsync(100);
		}
		expect(sent).toEqual([]);
		await vi.advanceTimersByTimeAsync(250);
		expect(sent).toEqual(['pyt']);
		expect(results).toEqual(['pyt']);
	});

	it('aborts a running request when a newer one starts, and drops its answer', async () => {
		const results: string[] = [];
		const errors: unknown[] = [];
		const runner = new LatestOnly<string>(
			0,
			(r) => results.push(r),
			(e) => errors.push(e)
		);
		const old = pending('old');
		const fresh = pending('fresh');
		const first = runner.now(old.request);
		const second = runner.now(fresh.request);
		expect(old.aborted()).toBe(true);
		fresh.resolve();
		await Promise.all([first, second]);
		expect(results).toEqual(['fresh']);
		expect(errors).toEqual([]); // an aborted request is not an error to show
	});

	it('drops a late answer even when the request ignored the abort', async () => {
		const results: string[] = [];
		const runner = new LatestOnly<string>(
			0,
			(r) => results.push(r),
			() => {}
		);
		let answerOld = () => {};
		const first = runner.now(() => new Promise<string>((done) => (answerOld = () => done('old'))));
		const second = runner.now(async () => 'fresh');
		await second;
		answerOld();
		await first;
		expect(results).toEqual(['fresh']);
	});

	it('reports the failure of the latest request', async () => {
		const errors: unknown[] = [];
		const runner = new LatestOnly<string>(
			0,
			() => {},
			(e) => errors.push(e)
		);
		await runner.now(async () => {
			throw new Error('503');
		});
		expect(errors).toHaveLength(1);
	});
});
