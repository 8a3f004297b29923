import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * A single-page app: the Python server serves `build/` and answers every
 * unknown (non-API) path with `index.html`, so the client router takes over.
 * `precompress` writes .br/.gz beside each file; the server sends those.
 * @type {import('@sveltejs/kit').Config}
 */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ fallback: 'index.html', precompress: true, strict: true })
	}
};

export default config;
