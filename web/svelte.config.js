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
		// scripts/build-web builds into a fresh directory (WEB_BUILD_OUT) and swaps it in whole,
		// so a running server never serves half a build.
		adapter: adapter({
			pages: process.env.WEB_BUILD_OUT ?? 'build',
			assets: process.env.WEB_BUILD_OUT ?? 'build',
			fallback: 'index.html',
			precompress: true,
			strict: true
		})
	}
};

export default config;
