"""QuizService: create, read, update and delete quizzes, with ownership rules.

Writes are owner-only; reads are owner-only for private quizzes and open to
everyone for public ones. A private quiz someone else owns answers 404, not 403,
so its existence is not revealed. After every committed change the listener
(the search index) is told; its failures never fail the save.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Protocol

import ormar

from classquiz.contracts.common import Page
from classquiz.contracts.quizzes import TITLE_MAX, QuizIn, QuizOut, QuizSummaryOut
from classquiz.db.models import Quiz, User, utcnow
from classquiz.errors import Refusal
from classquiz.services import quiz_io

log = logging.getLogger(__name__)


class QuizListener(Protocol):
    """Told after the database commit; must not raise (errors are its own to retry)."""

    async def quiz_saved(self, quiz: Quiz) -> None: ...

    async def quiz_deleted(self, quiz_id: uuid.UUID) -> None: ...


def quiz_out(quiz: Quiz, author: str | None) -> QuizOut:
    return QuizOut(
        id=quiz.id,
        owner_id=quiz.owner.id,
        author=author,
        title=quiz.title,
        description=quiz.description or "",
        public=bool(quiz.public),
        language=quiz.language,
        tags=list(quiz.tags or []),
        question_count=quiz.question_count,
        questions=list(quiz.questions or []),
        created_at=quiz.created_at,
        updated_at=quiz.updated_at,
    )


def quiz_summary(quiz: Quiz) -> QuizSummaryOut:
    return QuizSummaryOut(
        id=quiz.id,
        title=quiz.title,
        description=quiz.description or "",
        public=bool(quiz.public),
        language=quiz.language,
        tags=list(quiz.tags or []),
        question_count=quiz.question_count,
        created_at=quiz.created_at,
        updated_at=quiz.updated_at,
    )


def stored_columns(quiz: Quiz) -> dict[str, Any]:
    """A stored quiz's content columns, as `_columns` wrote them."""
    questions = list(quiz.questions or [])
    return {
        "title": quiz.title,
        "description": quiz.description or "",
        "public": bool(quiz.public),
        "language": quiz.language,
        "tags": list(quiz.tags or []),
        "questions": questions,
        "question_count": len(questions),
    }


def copy_title(title: str) -> str:
    """`Fractions` -> `Fractions (copy)`, still within the title's 200 characters."""
    suffix = " (copy)"
    return title[: TITLE_MAX - len(suffix)].rstrip() + suffix


def export_filename(title: str) -> str:
    """An ASCII-only, header-safe name such as `fractions-year-5.classquiz.json`."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:60] or "quiz"
    return f"{slug}.classquiz.json"


def _columns(data: QuizIn) -> dict[str, Any]:
    questions = [q.model_dump(mode="json", exclude_none=True) for q in data.questions]
    return {
        "title": data.title,
        "description": data.description,
        "public": data.public,
        "language": data.language,
        "tags": data.tags,
        "questions": questions,
        "question_count": len(questions),
    }


class QuizService:
    def __init__(self, listeners: list[QuizListener] | None = None) -> None:
        self.listeners: list[QuizListener] = listeners or []

    async def create(self, owner: User, data: QuizIn) -> QuizOut:
        quiz = await Quiz.objects.create(owner=owner.id, **_columns(data))
        await self._saved(quiz)
        return quiz_out(quiz, owner.username)

    async def list_own(
        self, owner: User, limit: int, offset: int, search: str | None = None
    ) -> Page[QuizSummaryOut]:
        """The owner's quizzes, newest change first; `search` keeps those whose title or
        description contains it (any case). A plain substring match, not the search
        index: a teacher's own list is small, and it must find a quiz saved a second ago."""
        query = Quiz.objects.filter(owner__id=owner.id)
        if search:
            query = query.filter(ormar.or_(title__icontains=search, description__icontains=search))
        total = await query.count()
        rows = await query.order_by("-updated_at").limit(limit).offset(offset).all()
        return Page[QuizSummaryOut](
            items=[quiz_summary(q) for q in rows], total=total, limit=limit, offset=offset
        )

    async def get_readable(self, quiz_id: uuid.UUID, viewer: User | None) -> Quiz:
        """The quiz if `viewer` may read it (owner, or anyone when public), else 404."""
        quiz = await Quiz.objects.get_or_none(id=quiz_id)
        if quiz is None or not (quiz.public or (viewer is not None and quiz.owner.id == viewer.id)):
            raise Refusal("quiz_not_found", "no such quiz")
        return quiz

    async def read(self, quiz_id: uuid.UUID, viewer: User | None) -> QuizOut:
        quiz = await self.get_readable(quiz_id, viewer)
        author = await User.objects.get_or_none(id=quiz.owner.id)
        return quiz_out(quiz, author.username if author else None)

    async def update(self, owner: User, quiz_id: uuid.UUID, data: QuizIn) -> QuizOut:
        quiz = await self._owned(owner, quiz_id)
        await quiz.update(**_columns(data), updated_at=utcnow())
        quiz = await Quiz.objects.get(id=quiz_id)
        await self._saved(quiz)
        return quiz_out(quiz, owner.username)

    async def set_public(self, owner: User, quiz_id: uuid.UUID, public: bool) -> QuizOut:
        """Publish or unpublish without sending the whole quiz back (the list's toggle)."""
        quiz = await self._owned(owner, quiz_id)
        if bool(quiz.public) != public:
            # Only these two columns: an editor's save landing meanwhile must not be undone.
            await quiz.update(_columns=["public", "updated_at"], public=public, updated_at=utcnow())
            quiz = await Quiz.objects.get(id=quiz_id)
            await self._saved(quiz)
        return quiz_out(quiz, owner.username)

    async def duplicate(self, viewer: User, quiz_id: uuid.UUID) -> QuizOut:
        """A private copy in `viewer`'s quizzes, of their own quiz or of a public one.

        The stored columns are copied as they are (they passed the rules when
        saved), so a quiz saved under older rules can still be copied and fixed.
        """
        source = await self.get_readable(quiz_id, viewer)
        quiz = await Quiz.objects.create(
            owner=viewer.id,
            **{**stored_columns(source), "title": copy_title(source.title), "public": False},
        )
        await self._saved(quiz)
        return quiz_out(quiz, viewer.username)

    async def export(self, quiz_id: uuid.UUID, viewer: User | None) -> tuple[dict[str, Any], str]:
        """(the versioned document, a download file name) of a quiz `viewer` may read."""
        quiz = await self.get_readable(quiz_id, viewer)
        return quiz_io.export_document(stored_columns(quiz)), export_filename(quiz.title)

    async def delete(self, owner: User, quiz_id: uuid.UUID) -> None:
        quiz = await self._owned(owner, quiz_id)
        await Quiz.objects.filter(id=quiz.id).delete()
        for listener in self.listeners:
            await _notify(listener.quiz_deleted(quiz_id))

    async def forget(self, quiz_ids: list[uuid.UUID]) -> None:
        """Tell the listeners that these quizzes were deleted along with their owner's
        account (the rows are gone already)."""
        for quiz_id in quiz_ids:
            for listener in self.listeners:
                await _notify(listener.quiz_deleted(quiz_id))

    async def _owned(self, owner: User, quiz_id: uuid.UUID) -> Quiz:
        quiz = await Quiz.objects.get_or_none(id=quiz_id)
        if quiz is None:
            raise Refusal("quiz_not_found", "no such quiz")
        if quiz.owner.id != owner.id:
            if quiz.public:
                raise Refusal("forbidden", "only the quiz's owner may change it")
            raise Refusal("quiz_not_found", "no such quiz")
        return quiz

    async def _saved(self, quiz: Quiz) -> None:
        for listener in self.listeners:
            await _notify(listener.quiz_saved(quiz))


async def _notify(call: Any) -> None:
    try:
        await call
    except Exception:
        log.exception("quiz listener failed")
