/**
 * The roster picker's search: which of the class list's free names match what the
 * player typed. Case, accents and extra spaces are ignored ("zoe" finds "Zoë Adams"),
 * and every typed word must start a word of the name or appear inside it, so a first
 * name, a surname or a piece of either all work.
 */
const fold = (text: string): string =>
	text
		.normalize('NFKD')
		.replace(/\p{M}/gu, '')
		.toLocaleLowerCase()
		.replace(/\s+/g, ' ')
		.trim();

export function filterNames(names: readonly string[], query: string): string[] {
	const words = fold(query).split(' ').filter(Boolean);
	if (words.length === 0) return [...names];
	return names.filter((name) => {
		const folded = fold(name);
		return words.every((word) => folded.includes(word));
	});
}
