"""SQL LIKE patterns from what people type: the wildcards they type are matched literally
(use with ``escape="\\"``)."""

from __future__ import annotations


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """Anywhere, case-insensitive once the column is lowered (or compared with ILIKE)."""
    return f"%{escape_like(text.strip().lower())}%"
