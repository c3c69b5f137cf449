"""Human-readable numbers: K/M/G for counts (powers of 1000), KiB/MiB/GiB for bytes (powers of 1024)."""

from __future__ import annotations


def human_count(value: int) -> str:
    """A count with a K, M, G or T suffix and two decimals.

    >>> human_count(714_188_480)
    '714.19M'
    >>> human_count(896)
    '896'
    """
    if abs(value) >= 10**15:  # past T, an exponent says it best (and big ints overflow floats)
        from decimal import Decimal

        return f"{Decimal(value):.2E}"
    for scale, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return str(value)


def human_bytes(value: int) -> str:
    """A byte count in KiB, MiB, GiB or TiB with two decimals.

    >>> human_bytes(244_403_360)
    '233.08 MiB'
    >>> human_bytes(512)
    '512 B'
    """
    if abs(value) >= 1024**5:
        from decimal import Decimal

        return f"{Decimal(value):.2E} B"
    for power, suffix in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if abs(value) >= 1024**power:
            return f"{value / 1024**power:.2f} {suffix}"
    return f"{value} B"
