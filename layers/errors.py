"""The project's one exception hierarchy.

Every error a user can cause is a :class:`GeoServiceError`. Each also subclasses the
matching built-in (``ValueError``, ``LookupError``, ``PermissionError``) so callers
that know nothing of this project still catch them sensibly. Only ``geo_service``
maps them to HTTP.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem found in user data: where it is and what is wrong.

    ``row`` counts features from 1 as a person reading the file would.
    """

    message: str
    file: str | None = None
    row: int | None = None
    feature_id: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __str__(self) -> str:
        where = [
            part
            for part in (
                self.file,
                f"第 {self.row} 行 (row {self.row})" if self.row is not None else None,
                f"编号 {self.feature_id}" if self.feature_id else None,
                f"字段 {self.field}" if self.field else None,
            )
            if part
        ]
        return f"{', '.join(where)}: {self.message}" if where else self.message


class GeoServiceError(Exception):
    """Base of every error this project raises on purpose.

    ``code`` is a stable machine-readable string; ``details`` carries structured data
    (for example the list of :class:`Problem`) for the error body.
    """

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (subclasses' own attributes too), whatever their constructor
        # takes: errors raised in a worker process reach the request that waits for it.
        return _restore, (type(self), self.args, self.__dict__)


def _restore(
    cls: type[GeoServiceError], args: tuple[Any, ...], state: dict[str, Any]
) -> GeoServiceError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidInput(GeoServiceError, ValueError):
    """A request or argument is malformed."""

    code = "invalid_input"


class CRSMismatch(GeoServiceError, ValueError):
    """Coordinates are in a CRS we cannot accept, or do not fit the CRS they claim."""

    code = "crs_mismatch"


MAX_PROBLEMS_SHOWN = 200
"""Problems an error body lists; all are counted, by kind."""


class LayerValidationError(GeoServiceError, ValueError):
    """A layer file or table failed validation; ``problems`` lists every problem found.

    The error's ``details`` (what a caller is answered) are bounded whatever the file: the
    first :data:`MAX_PROBLEMS_SHOWN` problems, the total, and how many there are of each
    kind (message) — a file of 100,000 bad rows answers in kilobytes, not megabytes.
    """

    code = "layer_invalid"

    def __init__(self, message: str, problems: list[Problem]) -> None:
        self.problems = problems
        kinds = Counter(p.message for p in problems)
        super().__init__(
            message,
            details={
                "problems": [p.as_dict() for p in problems[:MAX_PROBLEMS_SHOWN]],
                "problem_count": len(problems),
                "problem_kinds": dict(kinds.most_common(20)),
            },
        )

    def __str__(self) -> str:
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = f"\n  … and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        return f"{self.message}\n{shown}{more}"


class BodyTooLarge(GeoServiceError, ValueError):
    """A request body larger than the limit for what it carries."""

    code = "body_too_large"


class UnknownLayer(GeoServiceError, LookupError):
    """A layer name that the project does not define."""

    code = "unknown_layer"


class NotFound(GeoServiceError, LookupError):
    """A feature, credential or other record that does not exist."""

    code = "not_found"


class Conflict(GeoServiceError, RuntimeError):
    """The change collides with another one or with newer data (a second import for the
    same year, a stale version, a budget another reservation has taken)."""

    code = "conflict"


class RemovalsUnconfirmed(Conflict):
    """A stock list would take more of the parcels in force off the list than the share
    allowed without an explicit confirmation; ``details`` say how many of how many."""

    code = "removals_unconfirmed"


class StoreError(GeoServiceError, RuntimeError):
    """The store cannot be opened or is not at the expected schema version."""

    code = "store_unavailable"


class AuthenticationRequired(GeoServiceError, PermissionError):
    """No credential, or one that is unknown or revoked."""

    code = "authentication_required"


class Forbidden(GeoServiceError, PermissionError):
    """The credential is valid but its role may not do this."""

    code = "forbidden"
