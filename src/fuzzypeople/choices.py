"""Parsing comma-separated choices from the command line or the API."""

from __future__ import annotations


def parse_choices(value, allowed, message: str) -> tuple[str, ...]:
    """``"a, b"`` or ``["a", "b"]`` -> ``("a", "b")``: lower-cased, de-duplicated, checked.

    Raises ``ValueError(f"{message}; got {value!r}")`` on an empty list or an
    item not in ``allowed``.

    >>> parse_choices("Faces, bodies,faces", ("bodies", "faces"), "bad")
    ('faces', 'bodies')
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    items = tuple(dict.fromkeys(t.strip().lower() for t in items if t.strip()))
    if not items or any(t not in allowed for t in items):
        raise ValueError(f"{message}; got {value!r}")
    return items
