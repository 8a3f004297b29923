"""LiveRoom: one live game's room, every step of its life in one place.

The steps, in the order a connection meets them (the names follow Colyseus):

- **authorize**: the handshake's `auth` becomes a `HostAdmission` or a
  `PlayerAdmission`, or a `Refusal` (services/admission.py holds the checks).
- **join**: the socket is marked online (an older socket of the same host or
  player is told `replaced` and closed), the host hears of a new player, the
  socket enters the room's broadcast groups, then gets its `welcome`.
- **drop**: the connection went away. Its online mark goes (only if no newer
  socket took over), the host or the players are told; a dropped player may
  end an open question everyone else answered, a dropped host arms the
  abandoned-game timer. Either may come back with their token.
- **reconnect**: a player back with their token joins again as themselves: the
  host sees them online again, the welcome carries their score and standing.
- **leave**: a player is gone for good (left, kicked, banned): the nickname is
  freed, and a player who never played (lobby) is forgotten entirely.
- **dispose**: the game finished: everyone gets `game_finished`, each player
  `final_result`, the record is handed to the results, and the keys expire
  an hour later.

Then the host's commands (start, next, end a question, end the game, lock,
kick, leaderboard) and the players' (answer, reroll the nickname, leave). The
moves themselves are GameFlow's (services/flow.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter

from classquiz.errors import Refusal, as_code
from classquiz.faults import fault_point
from classquiz.game.autofinish import HOST_GONE, AutoFinishTimers, Timer, still_abandoned
from classquiz.game.final import FinishedGame
from classquiz.game.nicknames import accept_nickname, nickname_key
from classquiz.game.store import GameStore
from classquiz.services.admission import (
    GENERATED_ATTEMPTS,
    Admission,
    Gate,
    HostAdmission,
    PlayerAdmission,
)
from classquiz.services.delivery import Fanout, LocalPlayers
from classquiz.services.final_records import FinalRecords
from classquiz.services.flow import GameFlow
from classquiz.services.live import LiveGame, LiveGames
from classquiz.services.notifier import Notifier
from classquiz.services.tasks import KeptTasks
from classquiz.services.welcome import welcome

log = logging.getLogger(__name__)
MAX_REROLLS = 3
FINISHED_TTL_S = 3600  # how long a finished game's keys stay (FINISHED_GAME_TTL_S's default)
ResultSink = Callable[[FinishedGame], Awaitable[Any]]
GAMES_AUTO_FINISHED = Counter(
    "classquiz_games_auto_finished_total",
    "Games the server finished on its own because they were abandoned",
    ["reason"],
)


class LiveRoom:
    def __init__(
        self,
        store: GameStore,
        live: LiveGames,
        gate: Gate,
        flow: GameFlow,
        notifier: Notifier,
        fanout: Fanout,
        local_players: LocalPlayers,
        records: FinalRecords,
        timers: AutoFinishTimers,
        tasks: KeptTasks,
        *,
        result_sink: ResultSink,
        auto_finish_without_host_s: float = 0,
        finished_ttl_s: int = FINISHED_TTL_S,
    ) -> None:
        self.store = store
        self.live = live
        self.gate = gate
        self.flow = flow
        self.notifier = notifier
        self.fanout = fanout
        self.local_players = local_players  # pin -> player id -> sid on this process
        self.records = records
        self.timers = timers
        self.tasks = tasks
        self.result_sink = result_sink
        self.auto_finish_without_host_ms = int(auto_finish_without_host_s * 1000)
        self.finished_ttl_s = finished_ttl_s

    # -- authorize ----------------------------------------------------------------------------

    async def authorize(self, auth: Any, address: str) -> Admission:
        """The admission for a handshake's `auth` from `address`, or a Refusal."""
        return await self.gate.admit(auth, address)

    # -- join / reconnect ---------------------------------------------------------------------

    async def join(self, admission: Admission, sid: str) -> None:
        """`sid` is now the live socket of this host or player: mark it, tell who needs to
        know, put it in the room's broadcast groups, and send its welcome."""
        admission.sid = sid
        if isinstance(admission, HostAdmission):
            await self._replace(await self.store.set_host(admission.pin, admission.game_id, sid))
            await self.notifier.to_players(admission.pin, "host_status", {"connected": True})
        elif admission.is_new:
            _, active = await self._mark_online(admission)
            player = {"player_id": admission.player_id, "nickname": admission.nickname}
            await self.notifier.to_host(
                admission.pin, "player_joined", {"player": player, "players_count": active}
            )
        else:
            await self.reconnect(admission)
        # Groups last: nothing may reach this socket before the server's CONNECT packet.
        await self.notifier.enter(sid, admission.pin, admission.role)
        self.tasks.spawn(self._send_welcome(admission))

    async def reconnect(self, player: PlayerAdmission) -> None:
        """A player is back with their token; the host sees them online again (unless
        this socket only replaced another one that never went away)."""
        replaced, _ = await self._mark_online(player)
        if not replaced:
            await self.notifier.to_host(
                player.pin, "player_status", {"player_id": player.player_id, "connected": True}
            )

    async def _mark_online(self, player: PlayerAdmission) -> tuple[bool, int]:
        """(whether an older socket was replaced, active players)."""
        self.local_players.setdefault(player.pin, {})[player.player_id] = player.sid
        old, active = await self.store.set_online(player.pin, player.player_id, player.sid)
        await self._replace(old)
        return old is not None, active

    async def _replace(self, old_sid: str | None) -> None:
        if old_sid:
            await self.notifier.to_socket(old_sid, "replaced", {})
            await self.notifier.disconnect(old_sid)

    async def welcome(self, admission: Admission) -> dict[str, Any]:
        """The snapshot a socket draws from when it joins (services/welcome.py)."""
        return await welcome(self.store, self.live, admission)

    async def _send_welcome(self, admission: Admission) -> None:
        try:
            payload = await self.welcome(admission)
            await self.notifier.to_socket(admission.sid, "welcome", payload, local=True)
        except Exception:
            log.exception("could not send welcome")

    # -- drop -----------------------------------------------------------------------------------

    async def drop(self, admission: Admission, *, server_stopping: bool = False) -> bool:
        """The socket went away. True when it was the current one (not replaced).

        `server_stopping`: this process closed the socket because it is stopping, and
        the player is on the way to another process. Such a drop never ends a question
        early: a whole class on a draining process is dropped at once, and "everyone
        still here has answered" would otherwise close the question on the rest.
        """
        if isinstance(admission, HostAdmission):
            if not await self.store.set_host(
                admission.pin, admission.game_id, None, expected=admission.sid
            ):
                return False
            await self.notifier.to_players(admission.pin, "host_status", {"connected": False})
            if self.auto_finish_without_host_ms:  # finished if the host stays away too long
                # Only a game in play can be abandoned: a timer armed for a finished
                # game (the host leaving the podium) would sit in the set for nothing.
                meta = await self.store.meta(admission.pin) or {}
                if meta.get("status") in ("question", "reveal"):
                    due = await self.store.now_ms() + self.auto_finish_without_host_ms
                    timer = Timer(admission.pin, admission.game_id, HOST_GONE)
                    await self.timers.arm(timer, due)
            return True
        local = self.local_players.get(admission.pin, {})
        if local.get(admission.player_id) == admission.sid:
            del local[admission.player_id]
            if not local:
                self.local_players.pop(admission.pin, None)
        if not await self.store.set_offline(admission.pin, admission.player_id, admission.sid):
            return False
        await self.notifier.to_host(
            admission.pin,
            "player_status",
            {"player_id": admission.player_id, "connected": False},
        )
        if not server_stopping:
            await self.flow.end_if_everyone_answered(admission.pin)
        return True

    # -- leave ----------------------------------------------------------------------------------

    async def leave(self, pin: str, player_id: str, reason: str = "left") -> bool:
        """Take a player out of the game for good (left, kicked, banned); False if there
        is no such player. A kicked or banned player's socket, on any process, is told
        why and closed. In the lobby the player never played and is forgotten (not
        counted, not stored with the results); afterwards it stays in the results as
        `reason`."""
        record, gone = await self.store.player(pin, player_id)
        removed = False
        if record is not None and gone is None:
            result, sid = await self.store.remove(pin, player_id, record.nickname_key, reason)
            if result.ok:
                removed = True
                self.local_players.get(pin, {}).pop(player_id, None)
                player = {"player_id": player_id, "nickname": record.nickname}
                await self.notifier.to_host(
                    pin, "player_left", {"player": player, "players_count": result.values[0]}
                )
                if sid and reason != "left":
                    await self.notifier.to_socket(sid, "kicked", {"reason": reason})
                    await self.notifier.disconnect(sid)
        await self.flow.end_if_everyone_answered(pin)
        return removed

    # -- dispose --------------------------------------------------------------------------------

    async def dispose(self, game: LiveGame) -> None:
        """The game just finished: tell everyone, hand the record to the results, and let
        the keys expire an hour later."""
        pin = game.pin
        podium, _ = await self.store.leaderboard(pin, 0, 3)
        _, active = await self.store.answered_count(pin, 0)
        await self.notifier.to_game(
            pin,
            "game_finished",
            {"game_id": game.game_id, "podium": podium, "players_count": active},
        )
        await self.fanout.publish({"kind": "finished", "pin": pin, "gid": game.game_id})
        final = await self.records.of_live(pin)
        await self.store.keep_for_results(pin, game.question_count, self.finished_ttl_s)
        await self.timers.disarm_game(pin, game.game_id)
        # Stored in the background: the sink parks the record in Redis first, so the
        # host's end_game ack never waits for PostgreSQL.
        self.tasks.spawn(self.result_sink(final))

    # -- the host's commands --------------------------------------------------------------------

    # Each takes the game id the host token names besides the PIN, and refuses with
    # `game_not_found` once that game no longer owns the PIN (audit finding 5).

    async def start_game(self, pin: str, game_id: str) -> dict[str, Any]:
        game = await self.live.get(pin, await self.flow.owned_meta(pin, game_id))
        await self.flow.open_question(game, "lobby", -1, 0)
        return {"question_index": 0}

    async def next_question(self, pin: str, game_id: str) -> dict[str, Any]:
        meta = await self.flow.running_meta(pin, game_id)
        if meta["status"] != "reveal":
            raise Refusal("wrong_state", "next_question works only after a question ended")
        game = await self.live.get(pin, meta)
        qi = int(meta["qi"])
        if qi + 1 >= game.question_count:
            await self.end_game(pin, game_id)
            return {"finished": True}
        await self.flow.open_question(game, "reveal", qi, qi + 1)
        return {"question_index": qi + 1}

    async def end_question(self, pin: str, game_id: str) -> dict[str, Any]:
        meta = await self.flow.running_meta(pin, game_id)
        if meta["status"] != "question":
            raise Refusal("wrong_state", "no question is open")
        if not await self.flow.close_question(pin, int(meta["qi"]), game_id):
            raise Refusal("wrong_state", "the question already ended")
        return {}

    async def end_game(self, pin: str, game_id: str) -> dict[str, Any]:
        game = await self.live.get(pin, await self.flow.owned_meta(pin, game_id))
        result = await self.store.finish(pin, game_id)
        if result.code == "game_not_found":
            raise Refusal("game_not_found", "the game of this host token is gone")
        if not result.ok:
            raise Refusal("wrong_state", "the game already ended")
        fault_point("crash_after_finish")  # test-only: die before the results are parked
        await self.dispose(game)
        return {"game_id": game.game_id}

    async def lock_game(self, pin: str, game_id: str, locked: bool) -> dict[str, Any]:
        await self.flow.running_meta(pin, game_id)
        if not await self.store.lock(pin, game_id, locked):
            raise Refusal("game_not_found", "the game of this host token is gone")
        return {"locked": locked}

    async def kick_player(
        self, pin: str, game_id: str, player_id: Any, ban: bool
    ) -> dict[str, Any]:
        await self.flow.owned_meta(pin, game_id)
        if not isinstance(player_id, str):
            raise Refusal("player_not_found", "no such player")
        if not await self.leave(pin, player_id, "banned" if ban else "kicked"):
            raise Refusal("player_not_found", "no such player")
        return {}

    async def leaderboard(self, pin: str, game_id: str, offset: int, limit: int) -> dict[str, Any]:
        await self.flow.owned_meta(pin, game_id)
        entries, total = await self.store.leaderboard(pin, offset, limit)
        return {"entries": entries, "total": total}

    # -- the players' commands ------------------------------------------------------------------

    async def submit_answer(
        self, pin: str, game_id: str, player_id: str, question_index: int, answer: Any
    ) -> dict[str, Any]:
        return await self.flow.record_answer(pin, game_id, player_id, question_index, answer)

    async def reroll_nickname(self, player: PlayerAdmission) -> str:
        """A new generated nickname for a player in the lobby (at most MAX_REROLLS times)."""
        game = await self.live.get(player.pin)
        policy = game.nickname_policy
        if policy.mode != "generated":
            raise Refusal("wrong_state", "nicknames are not generated in this game")
        for attempt in range(GENERATED_ATTEMPTS):
            display = accept_nickname(None, policy, attempt)
            key = nickname_key(display)
            result = await self.store.reroll(
                player.pin, player.player_id, key, display, MAX_REROLLS
            )
            if result.ok:
                player.nickname, player.nickname_key = display, key
                await self.notifier.to_host(
                    player.pin,
                    "player_renamed",
                    {"player": {"player_id": player.player_id, "nickname": display}},
                )
                return display
            if result.code != "nickname_taken":
                code = as_code(result.code)
                # The one text that differs from the answer's: this is about renaming.
                lobby_only = "nicknames can only be changed in the lobby"
                raise Refusal(code, lobby_only if code == "wrong_state" else None)
        raise Refusal("nickname_taken", "no free nickname found; try again")

    # -- abandoned games ------------------------------------------------------------------------

    async def fire_due_auto_finishes(self) -> int:
        """Finish every game whose abandoned-game timer is due and that is still abandoned.

        Runs under the deadline lease. The timer is dropped only after the game is
        finished (or found not abandoned any more), so a process dying in between
        leaves it for the next lease holder; the finish itself is a compare-and-set.
        """
        finished = 0
        for timer in await self.timers.due(await self.store.now_ms()):
            if still_abandoned(timer, await self.store.meta(timer.pin)):
                try:
                    await self.end_game(timer.pin, timer.game_id)
                except Refusal:
                    pass  # ended meanwhile, or gone
                else:
                    finished += 1
                    GAMES_AUTO_FINISHED.labels(timer.reason).inc()
                    log.info("finished abandoned game %s (%s)", timer.game_id, timer.reason)
            await self.timers.disarm(timer)
        return finished
