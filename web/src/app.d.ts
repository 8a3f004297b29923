// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
	namespace App {
		interface Error {
			message: string;
			code?: string;
		}
		interface PageData {
			/**
			 * false: the page takes the whole screen, without the site header (the
			 * presenter's projector). A page's +page.ts returns `{ chrome: false }`.
			 */
			chrome?: boolean;
		}
		interface PageState {
			/** /results after a deletion: the title of the game whose results went. */
			deletedResults?: string;
			/** / after the account was deleted: its username. */
			accountDeleted?: string;
		}
	}
}

export {};
