"""Deleting an account: everything the account holds goes, and nothing comes back.

The steps, in this order:
1. The owner's proof (AccountService.confirm_deletion): nothing happens without it.
2. The account's pictures leave the picture storage. If the storage is down the
   request fails here (503): the account stays, though some of its pictures may
   be gone already, and trying again finishes. They go before their rows because
   the storage serves any object it holds: a file whose row went first would stay
   public with nobody able to remove it.
3. One transaction locks the account's row, reads what hangs off it, and deletes
   the row; the database takes every row of the account along (ON DELETE
   CASCADE): quizzes, pictures' rows, stored games with every player and answer,
   API keys, passkeys, sign-in identities, mailed links, backup codes. Every
   session ends with it: a token of an account that no longer exists is refused
   (UserService.authenticate). The lock orders this against writes that hang a
   row off the account: a picture upload holds the same lock and, coming after,
   finds no account; one that came before is listed here, and its file removed
   in step 4.
4. What the account did meanwhile is cleaned up: its quizzes in the search index,
   pictures stored between steps 2 and 3, the games it is hosting (ended as if
   the host had ended them, after the commit, so a game created during the
   deletion ends too and players see the game finish instead of a room that never
   moves again), and results of its games set aside in Redis as never storable.
   The account is gone by then, so each of these is done as well as it can be: a
   failure is logged and the deletion still answers that it happened.

Results of a game that finishes after step 3 are not stored: `results_store.write_game`
drops a game whose host's account is gone.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from classquiz.contracts.account import AccountDeleteIn
from classquiz.db.engine import database
from classquiz.db.models import Quiz, User
from classquiz.errors import Refusal
from classquiz.game.store import GameStore
from classquiz.services.account import AccountService
from classquiz.services.media import MediaService, owner_media_query, stored_keys
from classquiz.services.quizzes import QuizService
from classquiz.services.results import ResultService
from classquiz.services.room import LiveRoom
from classquiz.services.users import Session

log = logging.getLogger(__name__)

USERS: sa.Table = User.ormar_config.table
QUIZZES: sa.Table = Quiz.ormar_config.table


@dataclass(frozen=True)
class DeletedRows:
    """What the account's row took with it that lives on outside the database."""

    quiz_ids: list[uuid.UUID]
    media_keys: list[str]


class AccountDeletion:
    def __init__(
        self,
        account: AccountService,
        store: GameStore,
        room: LiveRoom,
        media: MediaService,
        quizzes: QuizService,
        results: ResultService,
    ) -> None:
        self.account = account
        self.store = store
        self.room = room
        self.media = media
        self.quizzes = quizzes
        self.results = results

    async def delete(self, session: Session, body: AccountDeleteIn) -> None:
        """Delete the account of `session` (see the module docstring); a refusal before
        step 3 leaves the account in place."""
        user = session.user
        await self.account.confirm_deletion(session, body, time.time())
        removed = await self.media.stored_keys_of(user.id)
        await self.media.remove_stored(removed)
        rows = await delete_account_rows(user.id)
        if rows is None:
            raise Refusal("invalid_token", "the account no longer exists")
        # The account is gone now: whatever fails below is logged, never answered as a
        # failure (the owner could not try again, and their session has ended anyway).
        await self.quizzes.forget(rows.quiz_ids)  # never raises (search listeners)
        removed_before = set(removed)
        late = [key for key in rows.media_keys if key not in removed_before]
        try:
            await self.media.remove_stored(late)
        except Exception:
            log.error("account %s deleted, but pictures %s are still stored", user.id, late)
        ended = set_aside = 0
        try:
            ended = await self._end_live_games(str(user.id))
        except Exception:
            log.exception("account %s deleted, but ending its live games failed", user.id)
        try:
            set_aside = await self.results.forget_owner(user.id)
        except Exception:
            log.exception("account %s deleted, but its set-aside results stay", user.id)
        log.info(
            "account %s deleted: %d quizzes, %d pictures, %d live games ended, "
            "%d set-aside results dropped",
            user.id,
            len(rows.quiz_ids),
            len(rows.media_keys),
            ended,
            set_aside,
        )

    async def _end_live_games(self, owner_id: str) -> int:
        ended = 0
        for pin, game_id in await self.store.live_games_of(owner_id):
            try:
                await self.room.end_game(pin, game_id)
            except Refusal:
                continue  # it ended (or expired) meanwhile
            ended += 1
        return ended


async def delete_account_rows(user_id: uuid.UUID) -> DeletedRows | None:
    """Delete the account's row, and with it every row that hangs off it, in one
    transaction; what went that lives on elsewhere, or None if there was no account.

    The row is locked first: a quiz or picture saved meanwhile needs a lock on it
    (a key-share lock, or the upload's quota lock), so none can appear between
    reading the quizzes and pictures and the delete."""
    async with database.transaction():
        async with database.connection() as conn:
            locked = await conn.execute(
                sa.select(USERS.c.id).where(USERS.c.id == str(user_id)).with_for_update()
            )
            if locked.first() is None:
                return None
            quizzes = await conn.execute(
                sa.select(QUIZZES.c.id).where(QUIZZES.c.owner_id == str(user_id))
            )
            quiz_ids = [uuid.UUID(str(row[0])) for row in quizzes]
            media_keys = stored_keys(await conn.execute(owner_media_query(user_id)))
            await conn.execute(sa.delete(USERS).where(USERS.c.id == str(user_id)))
    return DeletedRows(quiz_ids, media_keys)
