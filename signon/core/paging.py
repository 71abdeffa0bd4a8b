"""A page of a list cut in SQL (ORDER BY, OFFSET, LIMIT, and a COUNT for the page count)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PageOf(Generic[T]):
    """Page ``number`` (from 1) of ``pages``: its ``items`` out of ``total``."""

    items: list[T]
    number: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill (at least one, empty)."""
    return max(1, -(-total // per_page))
