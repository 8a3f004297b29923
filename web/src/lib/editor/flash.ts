/**
 * A message for the next editor page to announce: saving a new quiz moves from
 * /quizzes/new to /quizzes/{id}, a new page whose status line should still say
 * "Saved". Kept in memory only (a reload has nothing to announce).
 */
let flash: string | null = null;

export function setFlash(message: string): void {
	flash = message;
}

export function takeFlash(): string | null {
	const message = flash;
	flash = null;
	return message;
}
