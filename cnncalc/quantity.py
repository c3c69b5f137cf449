"""Quantities in budgets: 25000000, 25M, 4.1G, 2GiB, 512 MiB."""

from __future__ import annotations

import re

_SCALES = {
    "": 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_PATTERN = re.compile(
    r"^\s*(\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE]([-+]?\d{1,4}))?\s*([KMGT](?:I?B)?|B)?\s*$", re.I
)


class QuantityError(ValueError):
    pass


def parse_quantity(value, *, unit: str = "count") -> int:
    """An integer from a plain number, an SI suffix (K, M, G, T) or a binary unit (KiB ... TiB).

    Bytes may also be written with SI prefixes (2GB = 2 * 10**9) or as plain B.
    A plain number must be whole; with a suffix, fractions round to the nearest unit (1.1GiB).

    >>> parse_quantity("25M"), parse_quantity("4.1G"), parse_quantity("2GiB", unit="bytes")
    (25000000, 4100000000, 2147483648)
    """
    if isinstance(value, bool):
        raise QuantityError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, int):
        if value < 0:
            raise QuantityError(f"expected a number >= 0, got {value}")
        return value
    if isinstance(value, float):
        value = repr(value)  # through the text path: whole numbers only, bounded
    text = str(value)
    match = _PATTERN.match(text)
    if not match:
        examples = "2GiB, 512MiB or 1500000000" if unit == "bytes" else "25000000, 25M or 4.1G"
        raise QuantityError(f"expected a number such as {examples}, got {text!r}")
    number, exponent, suffix = match.groups()
    suffix = (suffix or "").upper()
    if suffix.endswith("B") and suffix not in ("KIB", "MIB", "GIB", "TIB"):
        if unit != "bytes":
            raise QuantityError(f"{text!r} is a size in bytes; this budget counts, so write e.g. 25M")
        suffix = suffix[:-1]  # 2GB: SI prefix on bytes
    elif suffix.endswith("IB") and unit != "bytes":
        raise QuantityError(f"{text!r} is a size in bytes; this budget counts, so write e.g. 25M")
    if exponent and abs(int(exponent)) > 30:
        raise QuantityError(f"{text!r} is out of range")
    # exact, in integers: 4.1G is 41 * 10**8, not a float's neighbour (and no decimal import at start-up)
    whole, _, fraction = number.partition(".")
    numerator = int((whole or "0") + fraction) * _SCALES[suffix]
    power = int(exponent or 0) - len(fraction)
    denominator = 10**-power if power < 0 else 1
    numerator *= 10**power if power > 0 else 1
    if not suffix and numerator % denominator:
        raise QuantityError(f"{text!r} is not a whole number")
    amount = (2 * numerator + denominator) // (2 * denominator)  # half up: 1.1GiB is 1,181,116,006.4 bytes
    if amount > 10**30:
        raise QuantityError(f"{text!r} is out of range")
    return amount
