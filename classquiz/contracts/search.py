"""REST contracts of quiz search: the query and the result both backends return."""

from __future__ import annotations

import re
import uuid

from pydantic import BaseModel, Field, field_validator

MAX_QUERY_CHARS = 200
MAX_FILTER_TAGS = 10
_SPACES = re.compile(r"\s+")


class SearchQuery(BaseModel):
    """`GET /api/v1/search` parameters (SPEC §3); unknown parameters are ignored.

    `tags` narrows: a hit carries every tag listed (compared case-insensitively,
    as tags are unique case-insensitively per quiz).
    """

    q: str = Field(default="", max_length=MAX_QUERY_CHARS)
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=10_000)
    language: str | None = Field(default=None, max_length=16)
    tags: list[str] = Field(default_factory=list, max_length=MAX_FILTER_TAGS)

    @field_validator("q")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return _SPACES.sub(" ", value).strip()

    @field_validator("language")
    @classmethod
    def _blank_language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for tag in tags:
            clean = tag.strip()
            if clean:
                seen.setdefault(clean.casefold(), clean)
        return list(seen.values())

    @property
    def tag_keys(self) -> list[str]:
        """The tags as both backends compare them."""
        return [tag_key(tag) for tag in self.tags]


class SearchHitOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    question_count: int
    language: str | None
    tags: list[str]
    author: str | None


class SearchResultOut(BaseModel):
    hits: list[SearchHitOut]
    total: int
    query: str


def tag_key(tag: str) -> str:
    """The case-insensitive form of a tag (`lower`, which PostgreSQL applies the same way)."""
    return tag.strip().lower()
