/**
 * Reordering a list by dragging a handle, with pointer events so that mouse, touch
 * and pen all work (HTML drag-and-drop does not fire on touch screens). The item
 * follows the pointer over the other rows: each time the pointer enters another
 * row, `onmove(from, to)` moves the item there. Keyboards use the Move up / Move
 * down buttons next to the handle instead.
 *
 * The moves and the release are watched on the window, not on the handle: moving
 * the dragged row in the DOM releases the handle's pointer capture, after which
 * the events go to whatever lies under the pointer.
 */
export class DragSort {
	/** The index of the item being dragged (it moves as the pointer goes), or null. */
	dragging = $state<number | null>(null);

	constructor(
		private readonly rows: () => HTMLElement[],
		private readonly onmove: (from: number, to: number) => void
	) {}

	start = (event: PointerEvent, index: number): void => {
		if (event.button !== 0) return;
		event.preventDefault();
		this.dragging = index;
		window.addEventListener('pointermove', this.over);
		window.addEventListener('pointerup', this.end);
		window.addEventListener('pointercancel', this.end);
	};

	over = (event: PointerEvent): void => {
		const from = this.dragging;
		if (from === null) return;
		const to = this.rows().findIndex((row) => {
			const box = row.getBoundingClientRect();
			return event.clientY >= box.top && event.clientY <= box.bottom;
		});
		if (to < 0 || to === from) return;
		this.onmove(from, to);
		this.dragging = to;
	};

	end = (): void => {
		this.dragging = null;
		window.removeEventListener('pointermove', this.over);
		window.removeEventListener('pointerup', this.end);
		window.removeEventListener('pointercancel', this.end);
	};
}

/** The direct children of `list` that are rows of it (`data-row`), in order. */
export function rowsOf(list: HTMLElement | null | undefined): HTMLElement[] {
	return list ? [...list.querySelectorAll<HTMLElement>(':scope > [data-row]')] : [];
}
