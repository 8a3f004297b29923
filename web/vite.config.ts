import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vitest/config';

// `npm run dev` serves the app on :5173 and hands the API and the live game to the
// Python server (scripts/run) on :8000, so both run side by side during development.
const backend = process.env.CLASSQUIZ_BACKEND ?? 'http://localhost:8000';

export default defineConfig({
	plugins: [tailwindcss(), sveltekit()],
	server: {
		proxy: {
			'/api': { target: backend, changeOrigin: true },
			'/socket.io': { target: backend, changeOrigin: true, ws: true }
		}
	},
	test: {
		include: ['src/**/*.test.ts'],
		// Those need a running server: tests/test_web_live_client.py runs them (vitest.server.config.ts).
		exclude: ['src/**/*.server.test.ts', 'node_modules/**'],
		environment: 'node'
	}
});
