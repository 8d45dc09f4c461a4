from decimal import Decimal

import pytest

from common.exports import csv_safe


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (-8.031799999999997, "-8.0318"),
        (12.0, "12"),
        (-0.00001, "0"),
        (1e20, "100000000000000000000"),
        (-3, "-3"),
        (Decimal("-12.50"), "-12.50"),
        (None, ""),
    ],
)
def test_numbers_are_written_plain_and_rounded(value, cell):
    assert csv_safe(value) == cell


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "@SUM(A1)", "+1+1", "-2+3", "-8", "\tTab", "\rReturn"])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert csv_safe(text) == "'" + text


def test_booleans_are_text_not_numbers():
    assert csv_safe(True) == "True"
