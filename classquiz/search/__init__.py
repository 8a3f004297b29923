"""Quiz search behind one small interface (`SearchIndex`), with two backends.

See docs/search.md: Meilisearch when configured, else PostgreSQL full-text
search with typo tolerance from an in-memory lexicon. `SearchIndexer` feeds either after commits.
"""

from classquiz.search.base import (
    SearchHitOut,
    SearchIndex,
    SearchQuery,
    SearchResultOut,
    SearchUnavailable,
)
from classquiz.search.factory import create_search_index, install_search, search_lifecycle
from classquiz.search.listener import SearchIndexer

__all__ = [
    "SearchHitOut",
    "SearchIndex",
    "SearchIndexer",
    "SearchQuery",
    "SearchResultOut",
    "SearchUnavailable",
    "create_search_index",
    "install_search",
    "search_lifecycle",
]
