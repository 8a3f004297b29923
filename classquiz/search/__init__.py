"""Quiz search behind one small interface (`SearchIndex`), with two backends.

See docs/search.md: Meilisearch when configured, else PostgreSQL full-text
search with typo tolerance from an in-memory lexicon. `SearchIndexer` feeds either after commits.
"""

from classquiz.contracts.search import SearchHitOut, SearchQuery, SearchResultOut
from classquiz.search.base import SearchIndex, SearchUnavailable
from classquiz.search.factory import create_search_index, search_lifecycle
from classquiz.search.listener import SearchIndexer

__all__ = [
    "SearchHitOut",
    "SearchIndex",
    "SearchIndexer",
    "SearchQuery",
    "SearchResultOut",
    "SearchUnavailable",
    "create_search_index",
    "search_lifecycle",
]
