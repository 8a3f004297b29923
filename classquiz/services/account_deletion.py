"""Deleting an account: everything the account holds goes, and nothing comes back.

What goes, in this order, each step safe to repeat if a later one fails:
1. The owner's proof (AccountService.confirm_deletion): nothing happens without it.
2. The games the account is hosting right now end, as if the host had ended them:
   players see the game finish instead of a room that never moves again.
3. The account's pictures leave the picture storage. If the storage is down the
   request fails here (503) with the account untouched, and a second try finishes.
4. One transaction deletes the account's row; the database takes everything that
   hangs off it along (ON DELETE CASCADE): quizzes, pictures' rows, stored games
   with every player and answer, API keys, passkeys, sign-in identities, mailed
   links, backup codes. Every session ends with it: a token of an account that no
   longer exists is refused (UserService.authenticate).
5. The search index hears that each of the account's quizzes was deleted.

Results of a game that finishes after step 4 (one ended in step 2 whose write was
still under way, or one created a moment before the row went) are not stored:
`results_store.write_game` drops a game whose host's account is gone.
"""

from __future__ import annotations

import logging
import time
import uuid

import sqlalchemy as sa

from classquiz.contracts.account import AccountDeleteIn
from classquiz.db.engine import database
from classquiz.db.models import Quiz, User
from classquiz.errors import Refusal
from classquiz.game.store import GameStore
from classquiz.services.account import AccountService
from classquiz.services.media import MediaService
from classquiz.services.quizzes import QuizService
from classquiz.services.room import LiveRoom
from classquiz.services.users import Session

log = logging.getLogger(__name__)

USERS: sa.Table = User.ormar_config.table
QUIZZES: sa.Table = Quiz.ormar_config.table


class AccountDeletion:
    def __init__(
        self,
        account: AccountService,
        store: GameStore,
        room: LiveRoom,
        media: MediaService,
        quizzes: QuizService,
    ) -> None:
        self.account = account
        self.store = store
        self.room = room
        self.media = media
        self.quizzes = quizzes

    async def delete(self, session: Session, body: AccountDeleteIn) -> None:
        """Delete the account of `session` (see the module docstring), or refuse with
        nothing changed."""
        user = session.user
        await self.account.confirm_deletion(session, body, time.time())
        ended = await self._end_live_games(str(user.id))
        pictures = await self.media.forget_all(user.id)
        quiz_ids = await delete_account_rows(user.id)
        if quiz_ids is None:
            raise Refusal("invalid_token", "the account no longer exists")
        await self.quizzes.forget(quiz_ids)
        log.info(
            "account %s deleted: %d quizzes, %d pictures, %d live games ended",
            user.id,
            len(quiz_ids),
            pictures,
            ended,
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


async def delete_account_rows(user_id: uuid.UUID) -> list[uuid.UUID] | None:
    """Delete the account's row, and with it every row that hangs off it, in one
    transaction; the ids of the quizzes that went, or None if there was no account.

    The row is locked first: a quiz saved meanwhile needs a key-share lock on it, so
    none can appear between reading the quiz ids and the delete."""
    async with database.transaction():
        async with database.connection() as conn:
            locked = await conn.execute(
                sa.select(USERS.c.id).where(USERS.c.id == str(user_id)).with_for_update()
            )
            if locked.first() is None:
                return None
            quiz_ids = [
                uuid.UUID(str(row[0]))
                for row in await conn.execute(
                    sa.select(QUIZZES.c.id).where(QUIZZES.c.owner_id == str(user_id))
                )
            ]
            await conn.execute(sa.delete(USERS).where(USERS.c.id == str(user_id)))
    return quiz_ids
