/**
 * live.ts against the real server (run by tests/test_web_live_client.py, which
 * starts it and creates a password-protected game): roles, stored tokens, coming
 * back as the same player, takeover, kick, refusals.
 */
import { get } from 'svelte/store';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostWelcome, PlayerWelcome, Welcome } from './generated/socket';
import {
	connectLive,
	TokenStore,
	type ConnectionState,
	type KeyValueStore,
	type LiveConnection
} from './live';

const url = process.env.CQ_SERVER_URL!;
const pin = process.env.CQ_PIN!;
const password = process.env.CQ_PASSWORD!;
const hostToken = process.env.CQ_HOST_TOKEN!;

function memoryStorage(): KeyValueStore {
	const data = new Map<string, string>();
	return {
		getItem: (k) => data.get(k) ?? null,
		setItem: (k, v) => void data.set(k, v),
		removeItem: (k) => void data.delete(k)
	};
}

const open: LiveConnection[] = [];
afterEach(() => {
	for (const connection of open.splice(0)) connection.close();
});

function connect(...args: Parameters<typeof connectLive>): LiveConnection {
	const connection = connectLive(args[0], { url, ...args[1] });
	open.push(connection);
	return connection;
}

function nextWelcome(connection: LiveConnection): Promise<Welcome> {
	return new Promise((resolve) => connection.socket.once('welcome', resolve));
}

async function until(connection: LiveConnection, state: ConnectionState): Promise<void> {
	const deadline = Date.now() + 10_000;
	while (get(connection.status).state !== state) {
		if (Date.now() > deadline) {
			throw new Error(`still ${JSON.stringify(get(connection.status))}, wanted ${state}`);
		}
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe.skipIf(!url)('live connection against the server', () => {
	it('connects the host and keeps its token for this tab', async () => {
		const tokens = new TokenStore(memoryStorage(), memoryStorage());
		const host = connect({ role: 'host', hostToken }, { tokens });
		const welcome = (await nextWelcome(host)) as HostWelcome;
		expect(welcome.role).toBe('host');
		expect(welcome.game.pin).toBe(pin);
		await until(host, 'connected');
		expect(tokens.hostToken()).toBe(hostToken);
		// Learnt from welcome: the PIN routes this tab's reconnections (and reloads).
		expect(tokens.hostPin()).toBe(pin);
		expect(host.socket.io.opts.query).toEqual({ pin });
	});

	it('joins a player, stores its token, and brings it back as the same player', async () => {
		const tokens = new TokenStore(memoryStorage(), memoryStorage());
		const player = connect({ role: 'player', pin, nickname: 'Ada', password }, { tokens });
		const first = (await nextWelcome(player)) as PlayerWelcome;
		expect(first.player.nickname).toBe('Ada');
		expect(tokens.playerToken(pin)).toBe(first.player.player_token);

		// The network drops: socket.io-client reconnects, and the stored token is sent.
		const again = nextWelcome(player);
		player.socket.io.engine.close();
		const second = (await again) as PlayerWelcome;
		expect(second.player.player_id).toBe(first.player.player_id);
		await until(player, 'connected');

		// A reload (a new connection, same storage) is the same player too, and takes over.
		const reloaded = connect({ role: 'player', pin, nickname: 'Ada', password }, { tokens });
		const third = (await nextWelcome(reloaded)) as PlayerWelcome;
		expect(third.player.player_id).toBe(first.player.player_id);
		await until(player, 'replaced');
		await new Promise((r) => setTimeout(r, 300));
		expect(player.socket.connected).toBe(false); // no tug of war between the two

		// "Use here" on the old one takes it back.
		const back = nextWelcome(player);
		player.takeOver();
		expect(((await back) as PlayerWelcome).player.player_id).toBe(first.player.player_id);
		await until(reloaded, 'replaced');
	});

	it('ends in `kicked` and forgets the token when the host removes the player', async () => {
		const hostConnection = connect({ role: 'host', hostToken }, { tokens: new TokenStore(null, memoryStorage()) });
		await nextWelcome(hostConnection);
		const tokens = new TokenStore(memoryStorage(), null);
		const player = connect({ role: 'player', pin, nickname: 'Bob', password }, { tokens });
		const welcome = (await nextWelcome(player)) as PlayerWelcome;
		const ack = await hostConnection.socket
			.timeout(5000)
			.emitWithAck('kick_player', { player_id: welcome.player.player_id, ban: false });
		expect(ack.ok).toBe(true);
		await until(player, 'kicked');
		expect(get(player.status).reason).toBe('kicked');
		expect(tokens.playerToken(pin)).toBeNull();
	});

	it('reports a refusal with its code and does not retry', async () => {
		const tokens = new TokenStore(memoryStorage(), null);
		const wrong = connect({ role: 'player', pin, nickname: 'Eve', password: 'not it' }, { tokens });
		await until(wrong, 'refused');
		expect(get(wrong.status).code).toBe('wrong_password');
		await new Promise((r) => setTimeout(r, 1500));
		expect(get(wrong.status).state).toBe('refused');
		expect(wrong.socket.connected).toBe(false);
	});

	it('forgets a stored token the server no longer accepts', async () => {
		const local = memoryStorage();
		const tokens = new TokenStore(local, null);
		tokens.setPlayerToken(pin, 'not-a-token');
		const player = connect({ role: 'player', pin, nickname: 'Cy', password }, { tokens });
		await until(player, 'refused');
		expect(get(player.status).code).toBe('invalid_token');
		expect(tokens.playerToken(pin)).toBeNull();
	});
});
