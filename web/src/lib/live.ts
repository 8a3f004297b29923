/**
 * The live-game connection (Socket.IO) for the player and presenter screens.
 *
 * What it takes care of, so each screen does not:
 * - the handshake `auth` per role (docs/protocol.md "Connecting"): the host sends its
 *   `host_token`; a player sends its stored `player_token` when it has one (it wins
 *   over pin/nickname, so a reload comes back as the same player), else pin, nickname
 *   and password. `auth` is a function, so every reconnection sends the latest token;
 * - where tokens live: a player's token per PIN in localStorage (survives the phone
 *   sleeping or the browser closing), the host token in sessionStorage (this tab only);
 * - the PIN in the query string (docs/protocol.md "The PIN in the query string"), so a
 *   balancer sends every request of the game to one server process: a player always
 *   knows its PIN; the host knows it from its link, or from `welcome` afterwards;
 * - coming back: socket.io-client reconnects after network drops by itself; on top,
 *   `visibilitychange` (tab visible again), `pageshow` (back/forward cache) and `online`
 *   reconnect at once instead of waiting for the backoff;
 * - the end states where it must NOT reconnect: a refusal, `kicked`, `replaced` (two tabs
 *   would steal the game from each other forever) and a server-side disconnect;
 * - `state`, a store the screen shows (banner) and tests read.
 *
 * Screens render from `welcome` (every connection gets one) and the events; the
 * socket is typed with the generated contract (generated/socket.ts).
 */
import { io, type Socket } from 'socket.io-client';
import { writable, type Readable } from 'svelte/store';
import type {
	ClientToServerEvents,
	HandshakeAuth,
	ServerToClientEvents
} from './generated/socket';

export type GameSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Where the connection stands; `refused`, `kicked`, `replaced`, `closed` do not reconnect. */
export type ConnectionState =
	| 'connecting'
	| 'connected'
	| 'reconnecting'
	| 'refused'
	| 'replaced'
	| 'kicked'
	| 'closed';

export interface ConnectionStatus {
	state: ConnectionState;
	/** The refusal's code (`wrong_password`, `game_over`, …) when `state` is `refused`. */
	code?: string;
	/** `kicked` or `banned` when `state` is `kicked`. */
	reason?: string;
}

export type HostCredentials = {
	role: 'host';
	hostToken: string;
	/** The game's PIN when the link carried it (else learnt from the first `welcome`). */
	pin?: string;
};
export type PlayerCredentials = {
	role: 'player';
	pin: string;
	/** Left out in generated-nickname games: the server picks the name. */
	nickname?: string;
	password?: string;
	/** The join captcha's token, when the game asks for one (good for one join). */
	captcha?: string;
};
export type Credentials = HostCredentials | PlayerCredentials;

/** The subset of the Web Storage API used here (so tests can pass their own). */
export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const HOST_TOKEN_KEY = 'cq:host_token';
const HOST_PIN_KEY = 'cq:host_pin';
const playerTokenKey = (pin: string) => `cq:player_token:${pin}`;

/** Refusals after which a stored token is useless (docs/protocol.md "Refusals"). */
const TOKEN_IS_DEAD = new Set(['invalid_token', 'game_over', 'banned']);

function safeStorage(kind: 'localStorage' | 'sessionStorage'): KeyValueStore | null {
	try {
		return globalThis[kind] ?? null;
	} catch {
		return null; // blocked storage: the connection still works, reloads just rejoin anew
	}
}

/** Stored game tokens: a player's per PIN (local), the host's per tab (session). */
export class TokenStore {
	constructor(
		private readonly local: KeyValueStore | null = safeStorage('localStorage'),
		private readonly session: KeyValueStore | null = safeStorage('sessionStorage')
	) {}

	playerToken(pin: string): string | null {
		return this.local?.getItem(playerTokenKey(pin)) ?? null;
	}
	setPlayerToken(pin: string, token: string): void {
		this.local?.setItem(playerTokenKey(pin), token);
	}
	forgetPlayerToken(pin: string): void {
		this.local?.removeItem(playerTokenKey(pin));
	}
	hostToken(): string | null {
		return this.session?.getItem(HOST_TOKEN_KEY) ?? null;
	}
	setHostToken(token: string): void {
		this.session?.setItem(HOST_TOKEN_KEY, token);
	}
	forgetHostToken(): void {
		this.session?.removeItem(HOST_TOKEN_KEY);
		this.session?.removeItem(HOST_PIN_KEY);
	}
	/** The PIN of the host token's game (a routing hint only, kept beside the token). */
	hostPin(): string | null {
		return this.session?.getItem(HOST_PIN_KEY) ?? null;
	}
	setHostPin(pin: string | null): void {
		if (pin) this.session?.setItem(HOST_PIN_KEY, pin);
		else this.session?.removeItem(HOST_PIN_KEY);
	}
}

/** The handshake `auth` for `credentials`, using a stored player token when there is one. */
export function handshakeAuth(credentials: Credentials, tokens: TokenStore): HandshakeAuth {
	if (credentials.role === 'host') return { host_token: credentials.hostToken };
	const token = tokens.playerToken(credentials.pin);
	if (token) return { player_token: token };
	const auth: HandshakeAuth = { pin: credentials.pin };
	if (credentials.nickname !== undefined) auth.nickname = credentials.nickname;
	if (credentials.password) auth.password = credentials.password;
	if (credentials.captcha) auth.captcha = credentials.captcha;
	return auth;
}

/**
 * The Socket.IO query for `credentials`: the game's PIN when it is known, so that a
 * balancer routes the connection to the game's server process. The server ignores it
 * (the `auth` decides), so a stale PIN costs a detour at most.
 */
export function routingQuery(credentials: Credentials, tokens: TokenStore): Record<string, string> {
	const pin = credentials.role === 'player' ? credentials.pin : (credentials.pin ?? tokens.hostPin());
	return pin ? { pin } : {};
}

/** The refusal code of a `connect_error` (socket.io-client puts the server's data in `data`). */
export function refusalCode(err: unknown): string {
	const data = (err as { data?: { code?: unknown } } | null)?.data;
	return typeof data?.code === 'string' ? data.code : 'network';
}

export interface LiveConnection {
	socket: GameSocket;
	status: Readable<ConnectionStatus>;
	/** After `replaced`: take the game back to this tab (the other one gets `replaced`). */
	takeOver(): void;
	/** Close for good (leaving the page); no reconnection. */
	close(): void;
}

export interface ConnectOptions {
	/** Server origin; default: the page's own. */
	url?: string;
	tokens?: TokenStore;
}

const REVIVE_EVENTS = ['online', 'pageshow'] as const;

/**
 * Open the live connection for a host or a player. Register your `welcome` and
 * event handlers on `socket` right away (the first `welcome` arrives just after
 * the handshake). A player's token from `welcome` is stored automatically.
 */
export function connectLive(credentials: Credentials, options: ConnectOptions = {}): LiveConnection {
	const tokens = options.tokens ?? new TokenStore();
	const status = writable<ConnectionStatus>({ state: 'connecting' });
	let terminal = false;

	const socket: GameSocket = io(options.url ?? '', {
		auth: (cb) => cb(handshakeAuth(credentials, tokens) as unknown as Record<string, unknown>),
		query: routingQuery(credentials, tokens),
		transports: ['websocket', 'polling'],
		autoConnect: false
	});

	const finish = (next: ConnectionStatus) => {
		terminal = true;
		status.set(next);
	};

	socket.on('connect', () => {
		terminal = false;
		status.set({ state: 'connected' });
	});
	socket.on('welcome', (welcome) => {
		if (credentials.role === 'host') {
			tokens.setHostToken(credentials.hostToken);
			tokens.setHostPin(welcome.game.pin);
		} else if (welcome.role === 'player') {
			tokens.setPlayerToken(credentials.pin, welcome.player.player_token);
		}
		// Reconnections (a new Engine.IO session each) go to the game's process.
		socket.io.opts.query = { ...socket.io.opts.query, pin: welcome.game.pin };
	});
	socket.on('connect_error', (err) => {
		if (socket.active) {
			// A transport failure: socket.io-client retries with backoff by itself.
			status.set({ state: 'reconnecting' });
			return;
		}
		const code = refusalCode(err);
		if (credentials.role === 'player' && TOKEN_IS_DEAD.has(code)) {
			tokens.forgetPlayerToken(credentials.pin);
		}
		if (credentials.role === 'host' && TOKEN_IS_DEAD.has(code)) tokens.forgetHostToken();
		finish({ state: 'refused', code });
	});
	socket.on('kicked', (payload) => {
		if (credentials.role === 'player') tokens.forgetPlayerToken(credentials.pin);
		finish({ state: 'kicked', reason: payload.reason });
	});
	socket.on('replaced', () => finish({ state: 'replaced' }));
	socket.on('disconnect', (reason) => {
		if (terminal) return;
		if (reason === 'io server disconnect' || reason === 'io client disconnect') {
			finish({ state: 'closed' });
		} else {
			status.set({ state: 'reconnecting' });
		}
	});

	// Reconnect at once when the page comes back, rather than after the backoff.
	// While socket.io-client waits out its backoff, `connect()` alone does nothing (it
	// leaves the pending attempt alone, up to 5 s away), so a socket that is waiting
	// is stopped first: that cancels the timer, and `connect()` then tries right away.
	let waiting = false;
	status.subscribe((s) => (waiting = s.state === 'reconnecting'));
	const revive = () => {
		if (terminal || socket.connected) return;
		if (waiting) socket.disconnect();
		socket.connect();
	};
	const onVisibility = () => {
		if (document.visibilityState === 'visible') revive();
	};
	if (typeof window !== 'undefined') {
		for (const name of REVIVE_EVENTS) window.addEventListener(name, revive);
		document.addEventListener('visibilitychange', onVisibility);
	}
	const detach = () => {
		if (typeof window === 'undefined') return;
		for (const name of REVIVE_EVENTS) window.removeEventListener(name, revive);
		document.removeEventListener('visibilitychange', onVisibility);
	};

	socket.connect();
	return {
		socket,
		status: { subscribe: status.subscribe },
		takeOver() {
			terminal = false;
			status.set({ state: 'connecting' });
			socket.connect();
		},
		close() {
			terminal = true;
			detach();
			socket.disconnect();
			status.set({ state: 'closed' });
		}
	};
}
