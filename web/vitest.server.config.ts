import { defineConfig } from 'vitest/config';

// The client modules against a real ClassQuiz server (src/**/*.server.test.ts).
// tests/test_web_live_client.py starts the server, sets up a game and runs this with
// CQ_SERVER_URL, CQ_PIN, CQ_PASSWORD and CQ_HOST_TOKEN; `npm test` leaves these files out.
export default defineConfig({
	test: {
		include: ['src/**/*.server.test.ts'],
		environment: 'node',
		testTimeout: 20_000
	}
});
