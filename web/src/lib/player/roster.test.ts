import { describe, expect, it } from 'vitest';
import { filterNames } from './roster';

const names = ['Ada Lovelace', 'ben carter', 'Cem Yılmaz', 'Zoë Adams'];

describe('the roster search', () => {
	it('shows every name before anything is typed', () => {
		expect(filterNames(names, '   ')).toEqual(names);
	});
	it('ignores case, accents and spacing, and matches pieces of any word', () => {
		expect(filterNames(names, 'zoe')).toEqual(['Zoë Adams']);
		expect(filterNames(names, '  ADA ')).toEqual(['Ada Lovelace', 'Zoë Adams']);
		expect(filterNames(names, 'ben  CAR')).toEqual(['ben carter']);
		expect(filterNames(names, 'yılmaz')).toEqual(['Cem Yılmaz']);
	});
	it('finds nothing for a name not on the list', () => {
		expect(filterNames(names, 'grace')).toEqual([]);
	});
});
