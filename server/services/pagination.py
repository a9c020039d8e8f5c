"""One page of a long list, counted and cut in SQL (never by loading every row)."""

import math
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select

from ..extensions import db

PER_PAGE_CHOICES = (25, 50, 100, 200)
# No list has a million pages; a larger page number is one past the end (and kept so, its
# offset fits the database's 64-bit integers: SQLite refused the statement, a 500).
MAX_PAGE_NUMBER = 1_000_000


@dataclass
class Page:
    """Rows of one page and where it stands in the whole list."""

    items: list = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 50

    @property
    def pages(self) -> int:
        """Return how many pages the list has (at least one)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        """Tell whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Tell whether a page comes after this one."""
        return self.page < self.pages


def clamp(page: object, per_page: object) -> tuple[int, int]:
    """Return a valid (page, per_page) from request values."""
    try:
        page_number = min(max(1, int(page)), MAX_PAGE_NUMBER)
    except (TypeError, ValueError):
        page_number = 1
    try:
        size = int(per_page)
    except (TypeError, ValueError):
        size = 50
    return page_number, size if size in PER_PAGE_CHOICES else 50


def page_within(page: int, per_page: int, total: int) -> int:
    """Return the page to show of `total` rows: `page`, or the last page if it lies past the
    end (page 1 when there are no rows)."""
    return min(page, max(1, math.ceil(total / per_page))) if total else 1


def paginate(query: Select, page: int, per_page: int, *, scalars: bool = True,
             total: int | None = None) -> Page:
    """Count the rows of `query` and return one page of them (ordered as the query says).

    A caller that already counted the rows passes `total`: nothing is counted again, and a
    total of 0 reads no rows at all.
    """
    known = total is not None
    if not known:
        total = db.session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery())
        )
    page = page_within(page, per_page, total)
    if known and not total:
        return Page(items=[], total=total, page=page, per_page=per_page)
    cut = query.limit(per_page).offset((page - 1) * per_page)
    items = db.session.scalars(cut).all() if scalars else db.session.execute(cut).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)
