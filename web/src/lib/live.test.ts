import { describe, expect, it } from 'vitest';
import { handshakeAuth, refusalCode, routingQuery, TokenStore, type KeyValueStore } from './live';

/** Web Storage in memory (the browser's API, not ours). */
function memoryStorage(): KeyValueStore & { data: Map<string, string> } {
	const data = new Map<string, string>();
	return {
		data,
		getItem: (k) => data.get(k) ?? null,
		setItem: (k, v) => void data.set(k, v),
		removeItem: (k) => void data.delete(k)
	};
}

describe('handshakeAuth', () => {
	it('sends the host token for the presenter', () => {
		const tokens = new TokenStore(memoryStorage(), memoryStorage());
		expect(handshakeAuth({ role: 'host', hostToken: 'h1' }, tokens)).toEqual({ host_token: 'h1' });
	});

	it('joins a new player with pin, nickname and password', () => {
		const tokens = new TokenStore(memoryStorage(), memoryStorage());
		expect(
			handshakeAuth({ role: 'player', pin: '123456', nickname: 'Ada', password: 'pw' }, tokens)
		).toEqual({ pin: '123456', nickname: 'Ada', password: 'pw' });
	});

	it('leaves the nickname out in generated mode and an empty password out', () => {
		const tokens = new TokenStore(memoryStorage(), memoryStorage());
		expect(handshakeAuth({ role: 'player', pin: '123456', password: '' }, tokens)).toEqual({
			pin: '123456'
		});
	});

	it('brings a returning player back with the token stored for that PIN only', () => {
		const local = memoryStorage();
		const tokens = new TokenStore(local, memoryStorage());
		tokens.setPlayerToken('123456', 'tok');
		expect(handshakeAuth({ role: 'player', pin: '123456', nickname: 'Ada' }, tokens)).toEqual({
			player_token: 'tok'
		});
		expect(handshakeAuth({ role: 'player', pin: '654321', nickname: 'Ada' }, tokens)).toEqual({
			pin: '654321',
			nickname: 'Ada'
		});
		tokens.forgetPlayerToken('123456');
		expect(local.data.size).toBe(0);
	});
});

describe('TokenStore', () => {
	it('keeps the player token in local storage and the host token in session storage', () => {
		const local = memoryStorage();
		const session = memoryStorage();
		const tokens = new TokenStore(local, session);
		tokens.setPlayerToken('111111', 'p');
		tokens.setHostToken('h');
		expect([...local.data.values()]).toEqual(['p']);
		expect([...session.data.values()]).toEqual(['h']);
		expect(tokens.hostToken()).toBe('h');
		tokens.forgetHostToken();
		expect(tokens.hostToken()).toBeNull();
	});

	it('works without storage (blocked by the browser)', () => {
		const tokens = new TokenStore(null, null);
		tokens.setPlayerToken('111111', 'p');
		expect(tokens.playerToken('111111')).toBeNull();
	});
});

describe('routingQuery', () => {
	it("puts a player's PIN in the query, token or not", () => {
		const tokens = new TokenStore(memoryStorage(), memoryStorage());
		expect(routingQuery({ role: 'player', pin: '123456', nickname: 'Ada' }, tokens)).toEqual({
			pin: '123456'
		});
		tokens.setPlayerToken('123456', 'tok');
		expect(routingQuery({ role: 'player', pin: '123456' }, tokens)).toEqual({ pin: '123456' });
	});

	it("uses the host link's PIN, else the one stored beside the host token, else none", () => {
		const session = memoryStorage();
		const tokens = new TokenStore(memoryStorage(), session);
		expect(routingQuery({ role: 'host', hostToken: 'h' }, tokens)).toEqual({});
		tokens.setHostPin('654321');
		expect(routingQuery({ role: 'host', hostToken: 'h' }, tokens)).toEqual({ pin: '654321' });
		expect(routingQuery({ role: 'host', hostToken: 'h', pin: '111111' }, tokens)).toEqual({
			pin: '111111'
		});
		tokens.forgetHostToken();
		expect(session.data.size).toBe(0);
	});
});

describe('refusalCode', () => {
	it('reads the code socket.io-client puts in err.data', () => {
		const err = Object.assign(new Error('wrong password'), { data: { code: 'wrong_password' } });
		expect(refusalCode(err)).toBe('wrong_password');
	});
	it('calls anything else a network failure', () => {
		expect(refusalCode(new Error('xhr poll error'))).toBe('network');
		expect(refusalCode(null)).toBe('network');
	});
});
