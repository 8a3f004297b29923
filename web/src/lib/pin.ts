/**
 * Game PINs as people type them: "123 456", "123-456" and " 123456 " all mean
 * 123456. The server's PIN is exactly 6 digits (docs/protocol.md).
 */
export const PIN_PATTERN = /^\d{6}$/;

/** The 6-digit PIN in `typed`, or null when it is not one. */
export function normalisePin(typed: string): string | null {
	const digits = typed.replace(/[\s-]/g, '');
	return PIN_PATTERN.test(digits) ? digits : null;
}
