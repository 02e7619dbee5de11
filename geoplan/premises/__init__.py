"""Vacant premises: search, and create / update / withdraw with a full history.

The register is kept current by the municipality and by brokers, so two promises hold here:

* **Nothing is lost.** Every change writes a ``premises_history`` row (who, when, the record
  before and after as JSON), bumps ``version`` (the API's ETag) and sets ``updated_at``;
  withdrawing only marks the row ``withdrawn``.
* **Nothing is stale.** Each write re-annotates the premises' nearest hub and walking time via
  :func:`geoplan.proximity.annotate_premises` inside the same transaction.

:mod:`~geoplan.premises.query` (what a seeker asks), :mod:`~geoplan.premises.search`,
:mod:`~geoplan.premises.frames` (its pages as data frames) and
:mod:`~geoplan.premises.register` (writes with history).

Both the HTTP API and the CLI call these functions; they never commit. Each write runs in a
``conn.transaction()`` block, so a failing write leaves the store exactly as it was, whatever
the caller does with its own transaction.
"""

from geoplan.premises.frames import features_frame, search_frame
from geoplan.premises.query import (
    API_MAX_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_TEXT,
    PARAMETER_NAMES,
    PLACE_FILTERS,
    SEARCH_FILTERS,
    SORTS,
    FormField,
    PremisesQuery,
    SearchFilter,
    SearchResult,
    Sort,
    check_parameter_names,
    check_place_async,
    check_query,
    check_query_async,
    place_condition,
    query_from_params,
    query_params,
    validate_query,
)
from geoplan.premises.register import (
    EDITABLE_FIELDS,
    MAX_LISTINGS_PAGE,
    REQUIRED_FIELDS,
    Editor,
    NotOwnerError,
    StaleVersionError,
    create,
    default_source,
    get,
    history,
    listings,
    to_feature,
    update,
    withdraw,
)
from geoplan.premises.search import (
    COUNT_CAP,
    FeaturePage,
    answered_async,
    search,
    search_features,
    search_features_async,
)

__all__ = [
    "API_MAX_LIMIT",
    "EDITABLE_FIELDS",
    "MAX_LIMIT",
    "MAX_LISTINGS_PAGE",
    "MAX_OFFSET",
    "MAX_TEXT",
    "NotOwnerError",
    "PARAMETER_NAMES",
    "PLACE_FILTERS",
    "REQUIRED_FIELDS",
    "SEARCH_FILTERS",
    "SORTS",
    "COUNT_CAP",
    "Editor",
    "FeaturePage",
    "FormField",
    "PremisesQuery",
    "SearchFilter",
    "SearchResult",
    "Sort",
    "StaleVersionError",
    "check_parameter_names",
    "answered_async",
    "check_place_async",
    "check_query",
    "check_query_async",
    "create",
    "default_source",
    "features_frame",
    "get",
    "history",
    "listings",
    "place_condition",
    "query_from_params",
    "query_params",
    "search",
    "search_features",
    "search_features_async",
    "search_frame",
    "to_feature",
    "update",
    "validate_query",
    "withdraw",
]
