"""The workbook reader uploads used until issue 16 (openpyxl, read-only), kept as the reference the
streaming reader (ingest.xlsx) must match cell for cell, in tests and in bench/xlsx.py."""

from collections.abc import Iterator

import openpyxl

from ingest.parsers import _cell_text


def openpyxl_records(path: str) -> Iterator[tuple[int, list[str]]]:
    """(sheet row number, cells as text) of the first worksheet, as the upload path read them."""
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the upload path ignored the declared <dimension> too
        for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell_text(value) for value in cells]
    finally:
        workbook.close()
