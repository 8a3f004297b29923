/**
 * How a choice looks, by its position on screen: a colour, a shape and a letter.
 *
 * The player's phone and the presenter's projector both use this table, so a
 * child can match "the blue triangle, B" across the room. Colour is never the
 * only cue (shape and letter say the same), and the colours are the Okabe–Ito
 * palette, which stays distinguishable under the common colour-vision
 * deficiencies. Each entry carries the text colour that keeps WCAG AA contrast
 * (≥ 4.5:1) on its background; choices.test.ts checks that.
 */

export type ShapeName = 'triangle' | 'diamond' | 'circle' | 'square' | 'star' | 'hexagon' | 'cross' | 'pentagon';

export interface ChoiceStyle {
	/** 0-based position on screen (display order, not the choice id). */
	index: number;
	/** A, B, C, … */
	letter: string;
	shape: ShapeName;
	/** SVG path of the shape in a 24×24 viewBox (fill it with `fg`). */
	path: string;
	/** Background colour (CSS hex). */
	bg: string;
	/** Text and shape colour on `bg` (CSS hex). */
	fg: string;
	/** The colour's English name, for tests and documentation (not shown). */
	colour: string;
}

const SHAPES: Record<ShapeName, string> = {
	triangle: 'M12 2 23 21H1z',
	diamond: 'M12 1 23 12 12 23 1 12z',
	circle: 'M12 1a11 11 0 1 0 0 22 11 11 0 1 0 0-22z',
	square: 'M2 2h20v20H2z',
	star: 'M12 1l3.2 7.2 7.8.7-5.9 5.2 1.8 7.7L12 17.8 5.1 21.8l1.8-7.7L1 8.9l7.8-.7z',
	hexagon: 'M6.5 2h11l5.5 10-5.5 10h-11L1 12z',
	cross: 'M8 1h8v7h7v8h-7v7H8v-7H1V8h7z',
	pentagon: 'M12 1l11 8-4.2 13H5.2L1 9z'
};

// Okabe–Ito colours, ordered so that neighbours differ in lightness as well as hue.
const PALETTE: ReadonlyArray<{ colour: string; bg: string; fg: string; shape: ShapeName }> = [
	{ colour: 'blue', bg: '#0072B2', fg: '#FFFFFF', shape: 'triangle' },
	{ colour: 'orange', bg: '#E69F00', fg: '#000000', shape: 'diamond' },
	{ colour: 'bluish green', bg: '#009E73', fg: '#000000', shape: 'circle' },
	{ colour: 'reddish purple', bg: '#CC79A7', fg: '#000000', shape: 'square' },
	{ colour: 'sky blue', bg: '#56B4E9', fg: '#000000', shape: 'star' },
	{ colour: 'vermillion', bg: '#D55E00', fg: '#000000', shape: 'hexagon' },
	{ colour: 'yellow', bg: '#F0E442', fg: '#000000', shape: 'cross' },
	{ colour: 'black', bg: '#000000', fg: '#FFFFFF', shape: 'pentagon' }
];

/** The style of the choice shown at `index` (wraps around past the palette's eight). */
export function choiceStyle(index: number): ChoiceStyle {
	if (!Number.isInteger(index) || index < 0) throw new RangeError(`bad choice index ${index}`);
	const entry = PALETTE[index % PALETTE.length]!;
	return {
		index,
		letter: letterFor(index),
		shape: entry.shape,
		path: SHAPES[entry.shape],
		bg: entry.bg,
		fg: entry.fg,
		colour: entry.colour
	};
}

/** A, B, …, Z, AA, AB, … (spreadsheet style). */
export function letterFor(index: number): string {
	let n = index;
	let letters = '';
	do {
		letters = String.fromCharCode(65 + (n % 26)) + letters;
		n = Math.floor(n / 26) - 1;
	} while (n >= 0);
	return letters;
}

export const PALETTE_SIZE = PALETTE.length;
