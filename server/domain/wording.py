"""Words that depend on a number: English says "1 household" but "2 households"; Chinese
needs no plural (量词 do not change), so only English texts use this."""


def plural(count, one: str, many: str) -> str:
    """Return `one` when count is exactly 1 (or -1), else `many` (0 households, 2.5 yuan)."""
    return one if count in (1, -1) else many
