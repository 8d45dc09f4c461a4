"""Safe spreadsheet exports: every CSV Pulse writes goes through csv_safe()."""

from decimal import Decimal

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Floats are written with this many decimals at most: a computed value such as a score change
# is -8.0318 in a spreadsheet, not -8.031799999999997.
FLOAT_DECIMALS = 4


def csv_safe(value) -> str:
    """The cell as text: numbers plain (a negative number is not a formula), text with a
    leading apostrophe when a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = format(round(value, FLOAT_DECIMALS), "f")
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text in ("-0", "") else text
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
