"""GameService: creating a live game, and what a client may learn before joining it.

The REST side of live games. Once a game exists its room takes over
(services/room.py: the connection steps and the host's commands) and its moves
are GameFlow's (services/flow.py).
"""

from __future__ import annotations

import logging
import random
import time
import uuid

from classquiz.contracts.common import game_status
from classquiz.contracts.games import (
    CaptchaOut,
    GameCreatedOut,
    GameCreateIn,
    GameInfoOut,
    NicknameRulesOut,
)
from classquiz.db.models import User
from classquiz.errors import Refusal
from classquiz.game.nicknames import normalize_nickname
from classquiz.game.rules import display_order
from classquiz.game.store import GameStore, LiveStoreFull, TooManyLiveGames
from classquiz.services.admission import password_admits
from classquiz.services.captcha import CaptchaVerifier
from classquiz.services.live import LiveGame, LiveGames
from classquiz.services.quizzes import QuizService
from classquiz.services.tokens import HOST, TokenSigner

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


class GameService:
    def __init__(
        self,
        store: GameStore,
        live: LiveGames,
        quizzes: QuizService,
        signer: TokenSigner,
        *,
        token_ttl_s: int,
        public_url: str,
        max_players_per_game: int,
        max_live_games_per_user: int = 5,
        captcha: CaptchaVerifier | None = None,
    ) -> None:
        self.captcha = captcha  # None: no captcha provider is configured
        self.store = store
        self.live = live
        self.quizzes = quizzes
        self.signer = signer
        self.token_ttl_s = token_ttl_s
        self.public_url = public_url.rstrip("/")
        self.max_players_per_game = max_players_per_game
        self.max_live_games_per_user = max_live_games_per_user

    # -- REST: create and look up ----------------------------------------------------------

    async def create_game(self, user: User, body: GameCreateIn) -> GameCreatedOut:
        settings = body.settings
        if "max_players" not in settings.model_fields_set:
            settings = settings.model_copy(
                update={"max_players": min(settings.max_players, self.max_players_per_game)}
            )
        elif settings.max_players > self.max_players_per_game:
            raise Refusal(
                "validation_error",
                f"max_players may not exceed {self.max_players_per_game}",
                [
                    {
                        "field": "settings.max_players",
                        "code": "too_large",
                        "message": f"at most {self.max_players_per_game}",
                    }
                ],
            )
        if settings.captcha and self.captcha is None:
            raise Refusal(
                "validation_error",
                "this server has no captcha provider configured",
                [
                    {
                        "field": "settings.captcha",
                        "code": "not_configured",
                        "message": "this server has no captcha service set up (CAPTCHA_PROVIDER)",
                    }
                ],
            )
        quiz = await self.quizzes.get_readable(body.quiz_id, user)
        rng = random.SystemRandom()
        questions = [dict(q) for q in quiz.questions]
        if settings.randomize_questions:
            rng.shuffle(questions)
        for question in questions:
            question["shown"] = display_order(question, settings.randomize_choices, rng)
        game_id = str(uuid.uuid4())
        public_settings = settings.model_dump(mode="json", exclude={"password"})
        fields = {
            "id": game_id,
            "quiz_id": str(quiz.id),
            "owner_id": str(user.id),
            "title": quiz.title,
            "status": "lobby",
            "qi": -1,
            "qcount": len(questions),
            "active": 0,
            "locked": "0",
            "settings": public_settings,
            "password": settings.password or "",
            "created_at": now_ms(),
            "host_sid": "",
        }
        try:
            pin = await self.store.create(
                game_id, str(user.id), fields, questions, self.max_live_games_per_user
            )
        except TooManyLiveGames as exc:
            raise Refusal(
                "too_many_live_games",
                f"you already have {exc.limit} live games; end one before starting another",
            ) from None
        except LiveStoreFull:
            log.error("Redis is at its memory cap: a new game was refused (see maxmemory)")
            raise Refusal(
                "live_storage_full",
                "the server has no room for another live game right now; try again later",
            ) from None
        token, _ = self.signer.issue(str(user.id), HOST, self.token_ttl_s, gid=game_id, pin=pin)
        return GameCreatedOut(
            game_id=uuid.UUID(game_id),
            pin=pin,
            host_token=token,
            join_url=f"{self.public_url}/play?pin={pin}",
        )

    async def describe(self, pin: str, password: str | None = None) -> GameInfoOut:
        """What a client needs to join; in roster mode (picker on) the free names too, for
        whoever may join: a game with a password shows them only to the right password,
        and a wrong one is `wrong_password` (counted by the caller's failure limiter)."""
        meta = await self.store.meta(pin) if pin.isdigit() and len(pin) == 6 else None
        if meta is None:
            raise Refusal("game_not_found", "there is no game with this PIN")
        game = await self.live.get(pin, meta)
        rules = game.settings["nicknames"]
        status = game_status(meta.get("status", "lobby"))
        accepting = (
            status != "finished"
            and meta.get("locked") != "1"
            and int(meta.get("active", 0))
            < min(game.settings["max_players"], self.max_players_per_game)
        )
        if password is not None and not password_admits(game.password, password):
            raise Refusal("wrong_password", "the game password is wrong")
        available = None
        if (
            rules["mode"] == "roster"
            and rules.get("roster_picker", True)
            and accepting
            and (game.password is None or password is not None)
        ):
            available = await self._free_roster_names(pin, game)
        return GameInfoOut(
            pin=pin,
            title=game.title,
            status=status,
            accepting_players=accepting,
            requires_password=game.password is not None,
            nicknames=NicknameRulesOut(
                mode=rules["mode"],
                min_length=rules["min_length"],
                max_length=rules["max_length"],
                charset=rules["charset"],
                roster_available=available,
            ),
            captcha=self._captcha_for(game),
        )

    def _captcha_for(self, game: LiveGame) -> CaptchaOut | None:
        """The widget the join page must show, when new players of `game` are asked."""
        if self.captcha is None or not self.captcha.required_for(game.settings):
            return None
        challenge = self.captcha.challenge
        return CaptchaOut(provider=challenge.provider, site_key=challenge.site_key)

    async def _free_roster_names(self, pin: str, game: LiveGame) -> list[str]:
        """The class list's names (as players will see them) that no player holds now."""
        by_key = game.nickname_policy.roster_by_key
        taken = await self.store.taken_nicknames(pin, list(by_key))
        free = [normalize_nickname(name) for key, name in by_key.items() if key not in taken]
        return sorted(free, key=str.casefold)
