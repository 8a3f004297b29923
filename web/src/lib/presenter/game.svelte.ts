/**
 * The presenter's view of a live game: one object that listens to the host socket
 * and holds what the screen draws (the roster, the open question, the reveal, the
 * podium), plus the host's commands.
 *
 * Everything is rebuilt from `welcome` (every connection gets one, also after a
 * reload or a takeover) and then moved by the server's events; the screen never
 * guesses a state from its own clicks. Commands wait for their acknowledgement and
 * report a refusal in `error`; the state change itself arrives as an event. A command
 * the server refused only for coming too fast (`rate_limited`) is sent once more after a
 * pause, if the game is still where it was (retry.ts).
 */
import { ServerClock } from '$lib/clock';
import { connectLive, type ConnectionStatus, type LiveConnection } from '$lib/live';
import type {
	GameFinished,
	LeaderboardEntry,
	PublicQuestion,
	QuestionEnded,
	RosterEntry
} from '$lib/generated/socket';
import { loadRanks, movements, rankMap, saveRanks, type Movement, type RankStore } from './reveal';
import { sendWithRetry, type Ack } from './retry';

export type Phase = 'connecting' | 'lobby' | 'question' | 'reveal' | 'finished';

/** How long a command may wait for its acknowledgement. */
const ACK_TIMEOUT_MS = 8_000;
/** How many leaderboard places are kept to measure movement at the next reveal. */
const RANKS_KEPT = 100;

export interface PresenterOptions {
	/** Server origin (default: the page's). */
	url?: string;
	/** Where the ranks of past reveals are kept across a reload (sessionStorage by default). */
	rankStore?: RankStore | null;
}

function sessionRanks(): RankStore | null {
	try {
		return typeof sessionStorage === 'undefined' ? null : sessionStorage;
	} catch {
		return null;
	}
}

export class PresenterGame {
	readonly clock = new ServerClock();
	readonly connection: LiveConnection;

	phase = $state<Phase>('connecting');
	connection_status = $state<ConnectionStatus>({ state: 'connecting' });
	gameId = $state('');
	pin = $state('');
	title = $state('');
	locked = $state(false);
	players = $state<RosterEntry[]>([]);
	playersCount = $state(0);
	questionIndex = $state(-1);
	questionCount = $state(0);
	question = $state<PublicQuestion | null>(null);
	deadlineAtMs = $state(0);
	answered = $state(0);
	ended = $state<QuestionEnded | null>(null);
	top = $state<LeaderboardEntry[]>([]);
	moves = $state<Movement[]>([]);
	podium = $state<GameFinished['podium']>([]);
	/** The last refused command's error code, shown until the next command. */
	error = $state<string | null>(null);
	busy = $state(false);
	/** Commands sent and not yet answered (several may be out at once: lock, kick, a step). */
	private pending = 0;

	private previousRanks: Map<string, number> | null = null;
	/** The phase in which the last step was sent (a second press there waits for its ack). */
	private stepPhase: Phase | null = null;

	private readonly rankStore: RankStore | null;

	constructor(hostToken: string, private readonly options: PresenterOptions = {}) {
		this.rankStore = options.rankStore === undefined ? sessionRanks() : options.rankStore;
		this.connection = connectLive({ role: 'host', hostToken }, { url: options.url });
		this.connection.status.subscribe((status) => (this.connection_status = status));
		this.listen();
	}

	get isLastQuestion(): boolean {
		return this.questionIndex >= this.questionCount - 1;
	}

	private listen(): void {
		const socket = this.connection.socket;
		socket.on('welcome', (welcome) => {
			if (welcome.role !== 'host') return;
			const game = welcome.game;
			this.clock.observe(game.server_time_ms);
			this.gameId = game.game_id;
			this.pin = game.pin;
			this.title = game.title;
			this.players = [...game.players];
			this.playersCount = game.players_count;
			this.questionIndex = game.question_index;
			this.questionCount = game.question_count;
			this.question = game.question ?? null;
			this.deadlineAtMs = game.deadline_at_ms ?? 0;
			this.phase = game.status;
			this.locked = welcome.locked;
			if (game.status === 'question') this.answered = welcome.answered ?? 0;
			if (game.status === 'reveal') {
				if (welcome.question_ended) {
					// A reload during the reveal: draw it again, movement measured against the
					// ranks this tab kept at the previous reveal.
					const before = this.rankStore ? loadRanks(this.rankStore, game.game_id, game.question_index - 1) : null;
					this.showReveal(welcome.question_ended, before);
				} else {
					// Not stored (yet): show the standings at least.
					this.ended = null;
					this.moves = [];
					void this.refreshLeaderboard(5).then((entries) => {
						if (entries && this.phase === 'reveal' && !this.ended) {
							this.top = entries;
							this.moves = movements(entries, null);
						}
					});
				}
			}
		});
		socket.on('player_joined', ({ player, players_count }) => {
			if (!this.players.some((p) => p.player_id === player.player_id)) {
				this.players = [...this.players, { ...player, connected: true, score: 0 }];
			}
			this.playersCount = players_count;
		});
		socket.on('player_left', ({ player, players_count }) => {
			this.players = this.players.filter((p) => p.player_id !== player.player_id);
			this.playersCount = players_count;
		});
		socket.on('player_renamed', ({ player }) => {
			this.players = this.players.map((p) => (p.player_id === player.player_id ? { ...p, nickname: player.nickname } : p));
		});
		socket.on('player_status', ({ player_id, connected }) => {
			this.players = this.players.map((p) => (p.player_id === player_id ? { ...p, connected } : p));
		});
		socket.on('question_started', (started) => {
			this.clock.observe(started.server_time_ms);
			this.questionIndex = started.question_index;
			this.questionCount = started.question_count;
			this.question = started.question;
			this.deadlineAtMs = started.deadline_at_ms;
			this.answered = 0;
			this.ended = null;
			this.phase = 'question';
		});
		socket.on('answer_count', (counted) => {
			if (counted.question_index !== this.questionIndex) return;
			this.answered = counted.answered;
			this.playersCount = counted.players_count;
		});
		socket.on('question_ended', (ended) => {
			if (ended.question_index !== this.questionIndex) return;
			this.showReveal(ended, this.previousRanks);
		});
		socket.on('game_finished', (finished) => {
			this.gameId = finished.game_id;
			this.podium = finished.podium;
			this.playersCount = finished.players_count;
			this.phase = 'finished';
		});
	}

	private showReveal(ended: QuestionEnded, before: ReadonlyMap<string, number> | null): void {
		this.ended = ended;
		this.answered = ended.answered;
		this.playersCount = ended.players_count;
		this.top = [...ended.top];
		this.moves = movements(ended.top, before);
		this.phase = 'reveal';
		// Keep this question's ranks (beyond the top 5) to measure the next movement, also
		// in the tab's storage for a reload during the next reveal.
		const gameId = this.gameId;
		void this.refreshLeaderboard(RANKS_KEPT).then((entries) => {
			if (!entries) return;
			this.previousRanks = rankMap(entries);
			if (this.rankStore) saveRanks(this.rankStore, gameId, ended.question_index, this.previousRanks);
		});
	}

	private async refreshLeaderboard(limit: number): Promise<LeaderboardEntry[] | null> {
		try {
			const reply = await sendWithRetry(
				() => this.connection.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('get_leaderboard', { limit }),
				{ stillWanted: () => true }
			);
			return reply?.ok ? reply.entries : null;
		} catch {
			return null;
		}
	}

	/** Where the game is: by default a command is retried only while this has not changed. */
	private get stateKey(): string {
		return `${this.gameId}:${this.phase}:${this.questionIndex}`;
	}

	/**
	 * Send a host command; a refusal's code lands in `error`. Returns whether it was
	 * accepted. `busy` holds while any command (or its rate-limit pause) is outstanding,
	 * so a second press of a step then sends nothing.
	 */
	private async command(run: () => Promise<Ack>, stillWanted?: () => boolean): Promise<boolean> {
		this.error = null;
		this.pending += 1;
		this.busy = true;
		const sentIn = this.stateKey;
		try {
			const reply = await sendWithRetry(run, { stillWanted: stillWanted ?? (() => this.stateKey === sentIn) });
			if (reply === null) return false;
			if (!reply.ok) this.error = reply.error?.code ?? 'internal_error';
			return reply.ok;
		} catch {
			this.error = 'network';
			return false;
		} finally {
			this.pending -= 1;
			this.busy = this.pending > 0;
		}
	}

	private get timed() {
		return this.connection.socket.timeout(ACK_TIMEOUT_MS);
	}

	start = () => this.command(() => this.timed.emitWithAck('start_game', {}));
	endQuestion = () => this.command(() => this.timed.emitWithAck('end_question', {}));
	next = () => this.command(() => this.timed.emitWithAck('next_question', {}));
	endGame = () => this.command(() => this.timed.emitWithAck('end_game', {}));
	kick = (playerId: string, ban: boolean) =>
		this.command(() => this.timed.emitWithAck('kick_player', { player_id: playerId, ban }));

	async setLocked(locked: boolean): Promise<void> {
		let confirmed: boolean | null = null;
		await this.command(
			async () => {
				const reply = await this.timed.emitWithAck('lock_game', { locked });
				if (reply.ok) confirmed = reply.locked;
				return reply;
			},
			// A retry is pointless once the game is as asked (an earlier press got through).
			() => this.locked !== locked
		);
		if (confirmed !== null) this.locked = confirmed;
	}

	/** The next step of the game: what Space/Enter does. */
	step(): void {
		// A press while this phase's step is still unacknowledged would be refused; once the
		// server has moved the game on (the event may come before the ack), the next press counts.
		if (this.busy && this.stepPhase === this.phase) return;
		this.stepPhase = this.phase;
		if (this.phase === 'lobby') void this.start();
		else if (this.phase === 'question') void this.endQuestion();
		else if (this.phase === 'reveal') void this.next();
	}

	takeOver(): void {
		this.connection.takeOver();
	}

	close(): void {
		this.connection.close();
	}
}
