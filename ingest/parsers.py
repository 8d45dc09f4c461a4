"""Turn an uploaded CSV or XLSX file into a stream of rows, refusing whole-file problems up front.

Uploads come from customers' spreadsheets and are untrusted: a file may be renamed, use any
encoding or delimiter Excel can produce, or be built to exhaust the server (zip bombs, XML
entity expansion, one endless line). So the format is decided by content rather than by name,
every cost is bounded before anything is parsed, and rows are streamed one at a time so memory
stays constant however large the file is. Problems that make the whole file unusable raise
`FileRefused` with a sentence the user can act on; problems with single rows are left to the
validators, which see each row with the line number the user sees in their editor.

This module is pure Python (no Django) so it can be tested and benchmarked in isolation.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import itertools
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from ingest import xlsx

# (line number, cells) of each record of a file; closing the generator closes the file.
Records = Generator[tuple[int, list[str]], None, None]

EXTRA = "__extra__"  # key holding the surplus cells of a row longer than the header

_HEAD_BYTES = 64 * 1024  # enough to sniff the format, the encoding and the header line
_CHUNK_BYTES = 1024 * 1024
_XML_SCAN_BYTES = 4096  # a DOCTYPE can only sit in the prolog, which Excel keeps tiny
_RATIO_FLOOR = 1024 * 1024  # tiny parts (styles, rels) compress extremely well yet cannot bomb
_MAX_LINE_CHARS = 1_000_000  # a CSV line longer than this is not data; it would be read whole
_EXCEL_MAX_ROWS = 1_048_576  # a row number beyond Excel's own limit marks a forged sheet

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and also password-protected .xlsx
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_DELIMITERS = (",", ";", "\t")  # in order of preference when the header is ambiguous
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")
_BOM_REMNANTS = ("\ufeff", "ï»¿", "\u200b")  # a BOM decoded as text, or as cp1252 mojibake
_UTF16_CODECS = ("utf-16", "utf-16-le", "utf-16-be")
_NOT_TEXT = {"Cc", "Cs", "Cn"}  # control characters, lone surrogates, unassigned code points

_DIMENSION = re.compile(rb'<(?:[\w.-]+:)?dimension\s+ref="[A-Za-z]+\d+:[A-Za-z]+(\d+)"')
_ROW_END = re.compile(rb"</(?:[\w.-]+:)?row>")

# What reading a damaged or hostile workbook raises: zip damage, missing parts or strings, malformed
# XML or numbers, forbidden XML (a DOCTYPE, an undefined entity: ValueErrors).
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    ParseError,
    ExpatError,
    EOFError,
    OSError,
)
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, RuntimeError, NotImplementedError)

_EXPORT_ADVICE = "Export the data again as CSV (UTF-8) or .xlsx and upload that file."
_SPLIT_ADVICE = "Split it into smaller files and upload them one at a time."


class FileRefused(Exception):
    """A whole-file problem. str(e) is a sentence for the user: what is wrong and what to do."""

    api_field = "file"  # the API answers it as a 400 on this input (api.errors)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200 * 1024 * 1024  # raw upload size
    max_xlsx_uncompressed: int = 500 * 1024 * 1024  # sum of uncompressed zip members
    max_xlsx_ratio: int = 200  # uncompressed/compressed of any member


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line as the user sees it (header is line 1); for XLSX the sheet row number
    values: dict[str, str]  # normalized header -> stripped cell text; EXTRA holds surplus cells


# --- Format, size and safety --------------------------------------------------------------------


def sniff_format(head: bytes, filename: str) -> str:
    """Return "csv" or "xlsx" from the first bytes; the name only serves to explain a mismatch."""
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"  # check_xlsx_safety confirms it is a workbook and not some other zip
    if head.startswith(_OLE2_MAGIC):
        raise FileRefused(
            f"“{filename}” is an old-style .xls workbook or a password-protected one. "
            "Remove any password, save it as .xlsx or CSV (UTF-8) and upload it again."
        )
    if _looks_binary(head):
        raise FileRefused(f"“{filename}” is neither a CSV nor an Excel file. {_EXPORT_ADVICE}")
    if filename.lower().endswith(_XLSX_SUFFIXES):
        raise FileRefused(
            f"“{filename}” is named like an Excel file but contains plain text: it was probably "
            "a CSV file that was renamed. Rename it back to .csv and upload it again."
        )
    return "csv"


def _looks_binary(head: bytes) -> bool:
    # Text never contains NUL bytes, except UTF-16, where each Latin character has one.
    return b"\x00" in head and detect_encoding(head) not in _UTF16_CODECS


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise FileRefused(
            f"The file is {_size_text(size)}, above the {_size_text(limits.max_bytes)} limit. {_SPLIT_ADVICE}"
        )


def too_large(limits: Limits) -> FileRefused:
    """For a file refused before its end arrived, whose size is not known."""
    return FileRefused(f"The file is over the {_size_text(limits.max_bytes)} upload limit. {_SPLIT_ADVICE}")


def check_xlsx_safety(path: str, limits: Limits) -> None:
    """Refuse a zip that is not a workbook or could hurt the parser, reading only its directory
    and the first bytes of each XML part; nothing is extracted."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_member_names(members)
            _check_member_sizes(members, limits)
            if "xl/workbook.xml" not in {member.filename for member in members}:
                raise FileRefused(
                    "The file is a ZIP archive but not an Excel workbook: it was probably renamed. "
                    + _EXPORT_ADVICE
                )
            for member in members:
                if member.filename.lower().endswith(_XML_SUFFIXES):
                    _check_xml_prolog(archive, member)
    except _ZIP_ERRORS as exc:
        raise FileRefused(f"The Excel file is damaged and cannot be opened. {_EXPORT_ADVICE}") from exc


def check_zip_safety(path: str, limits: Limits, what: str, advice: str) -> None:
    """Refuse a ZIP archive (a .docx, a zip of documents) whose entries could hurt whoever reads
    them: unsafe paths, a zip bomb. `what` names the file in the message ("The archive")."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise FileRefused(f"{what} is damaged and cannot be opened. {advice}") from exc
    _check_member_names(members, what, advice)
    _check_member_sizes(members, limits, what, advice)


def _check_member_names(
    members: list[zipfile.ZipInfo], what: str = "The Excel file", advice: str = _EXPORT_ADVICE
) -> None:
    # Nothing is extracted, but Excel never writes such names: their presence marks a forged file.
    for member in members:
        name = member.filename.replace("\\", "/")
        if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in name.split("/"):
            raise FileRefused(
                f"{what} contains an entry with an unsafe path ({member.filename!r}), so it was not opened. {advice}"
            )


def _check_member_sizes(
    members: list[zipfile.ZipInfo], limits: Limits, what: str = "The Excel file", advice: str = _EXPORT_ADVICE
) -> None:
    # zipfile stops decompressing at the declared size, so the declared sizes are real bounds.
    bomb = FileRefused(
        f"{what} would expand to far more data than it holds (a “zip bomb”), so it was not opened. {advice}"
    )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR and ratio > limits.max_xlsx_ratio:
            raise bomb
    total = sum(member.file_size for member in members)
    if total > limits.max_xlsx_uncompressed:
        raise FileRefused(
            f"{what} expands to {_size_text(total)}, above the "
            f"{_size_text(limits.max_xlsx_uncompressed)} limit. {_SPLIT_ADVICE}"
        )


def _check_xml_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    # Entity declarations enable "billion laughs" and external-entity attacks, and Excel never
    # writes them. The reader (ingest.xlsx) refuses them anywhere too; this check gives the user
    # a clear message instead of a parse error. Dropping NULs also catches UTF-16 encoded XML.
    with archive.open(member) as part:
        prolog = part.read(_XML_SCAN_BYTES).replace(b"\x00", b"").upper()
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise FileRefused(
            "The Excel file contains XML entity declarations, which Excel never writes and which "
            f"are used to attack servers (“billion laughs”), so it was not opened. {_EXPORT_ADVICE}"
        )


# --- Text detection --------------------------------------------------------------------------------


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the BOM to pick the byte order
    utf16 = _utf16_without_bom(head) if b"\x00" in head else None
    if utf16:
        return utf16
    try:
        # A full head may have been cut in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _HEAD_BYTES)
    except UnicodeDecodeError:
        return "cp1252"  # what Excel on Windows writes for "CSV" in Western locales
    return "utf-8"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 saved without its byte-order mark, as some exports do. Text in the Latin range has
    a NUL as every other byte, on the odd bytes for little-endian and the even ones for big-endian;
    what decodes to control characters is not text but binary."""
    sample = head[: len(head) // 2 * 2]
    for codec, high_bytes in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        if high_bytes.count(0) * 2 >= len(high_bytes) and _is_text(sample, codec):
            return codec
    return None


def _is_text(sample: bytes, codec: str) -> bool:
    try:
        text = codecs.getincrementaldecoder(codec)().decode(sample)  # a full head may end mid-pair
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(char) in _NOT_TEXT and char not in "\t\r\n" for char in text)


def detect_delimiter(sample_text: str) -> str:
    """The candidate that splits the header into the most fields; quoted headers are honoured."""

    def header_width(delimiter: str) -> int:
        records = csv.reader(io.StringIO(sample_text), delimiter=delimiter)
        return len(next((cells for cells in records if cells), []))

    return max(_DELIMITERS, key=header_width)


def normalize_header(name: str) -> str:
    for remnant in _BOM_REMNANTS:
        name = name.replace(remnant, "")
    return _HEADER_SEPARATORS.sub("_", name.strip().lower())


def _is_utf8(chunks: Iterable[bytes]) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# --- Reading -------------------------------------------------------------------------------------


def read_header_and_rows(
    path: str,
    filename: str,
    *,
    expected: set[str],
    required: set[str],
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[list[str], Iterator[Row]]:
    """Check the file and its header, then return the normalized header and a lazy row iterator.

    The iterator holds the file open until exhausted or closed; it may still raise FileRefused
    when damage only shows up mid-file (undecodable text, a broken sheet).
    """
    check_size(os.path.getsize(path), limits)
    dialect = csv_dialect(path, filename)
    if dialect is None:
        check_xlsx_safety(path, limits)
        records, joiner = _xlsx_records(path), ","
    else:
        joiner = dialect.delimiter
        records = _csv_records(path, dialect.encoding, joiner)
    try:
        first = next((record for record in records if any(record[1])), None)
        header = _check_header(first[1], expected | required, required) if first else []
    except Exception:
        records.close()
        raise
    if not header:  # an empty file is not an error: there is simply nothing to import
        records.close()
        return [], iter(())
    return header, _rows(records, header, joiner)


@dataclass(frozen=True)
class CsvDialect:
    encoding: str  # a Python codec name
    delimiter: str


def csv_dialect(path: str, filename: str) -> CsvDialect | None:
    """How a CSV file is written (None for a workbook), for this module's reader and for
    PostgreSQL's COPY, which reads big files directly (ingest/fastpath.py)."""
    return _dialect(_read_head(path), filename, whole_is_utf8=lambda: _is_utf8(_chunks(path)))


def _dialect(head: bytes, filename: str, whole_is_utf8: Callable[[], bool]) -> CsvDialect | None:
    if sniff_format(head, filename) == "xlsx":
        return None
    encoding = detect_encoding(head)
    # A cp1252 file may be plain ASCII for its first 64 KB; a streaming check of the rest
    # (constant memory, C speed) avoids refusing it halfway through the import.
    if encoding == "utf-8" and not whole_is_utf8():
        encoding = "cp1252"
    sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    return CsvDialect(encoding, detect_delimiter(sample))


def read_csv_text(data: bytes, filename: str) -> str:
    """A whole CSV file held in memory, as text, checked the way the pipeline reads files: format
    by content, encoding, no line longer than the pipeline takes, quotes that close. For readers
    that take UTF-8 text only, such as the admin's import (tablib), which said no more than
    "'Error' encountered" about a file with a 10 MB line."""
    dialect = _dialect(data[:_HEAD_BYTES], filename, whole_is_utf8=lambda: _is_utf8([data]))
    if dialect is None:
        raise FileRefused(
            f"“{filename}” is an Excel workbook, not a CSV file. Save it as CSV (UTF-8) and try again, "
            "or upload the workbook on the Data Integration page."
        )
    with io.TextIOWrapper(io.BytesIO(data), encoding=dialect.encoding, newline="") as text:
        for _record in _text_records(text, dialect.encoding, dialect.delimiter):
            pass  # reading every record is the check
    return data.decode(dialect.encoding)


def count_data_rows(path: str, filename: str) -> int:
    """A fast estimate of the data rows, for progress; call it once the file has been accepted."""
    if sniff_format(_read_head(path), filename) == "xlsx":
        return _count_xlsx_rows(path)
    return _count_csv_rows(path)


def _check_header(cells: list[str], allowed: set[str], required: set[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]  # trailing empty cells are editor artefacts, not columns
    names = [normalize_header(cell) for cell in cells]
    expected = (
        f"Expected: {', '.join(sorted(allowed))} (header names are matched case- and space-insensitively)."
    )
    if "" in names:
        raise FileRefused(f"Column {names.index('') + 1} has no header. Name it or delete it. {expected}")
    seen: dict[str, str] = {}
    for cell, name in zip(cells, names, strict=True):
        if name in seen:
            raise FileRefused(
                f"Column “{cell}” appears twice (also as “{seen[name]}”). Keep one and upload again."
            )
        seen[name] = cell
    missing = sorted(required - set(names))
    unknown = [cell for cell, name in zip(cells, names, strict=True) if name not in allowed]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"Missing required column(s): {', '.join(missing)}.")
        if unknown:
            problems.append(f"Unknown column(s): {', '.join(unknown)}.")
        raise FileRefused(" ".join([*problems, expected]))
    return names


def _rows(records: Records, header: list[str], joiner: str) -> Iterator[Row]:
    width = len(header)
    with closing(records):  # closing the row iterator closes the file
        for line, cells in records:
            if not any(cells):
                continue
            values = dict(zip(header, cells + [""] * (width - len(cells)), strict=False))
            surplus = cells[width:]
            if any(surplus):  # empty surplus is a trailing delimiter, harmless
                values[EXTRA] = joiner.join(surplus)
            yield Row(line, values)


def _csv_records(path: str, encoding: str, delimiter: str) -> Records:
    with io.TextIOWrapper(open(path, "rb"), encoding=encoding, newline="") as text:
        yield from _text_records(text, encoding, delimiter)


def _text_records(text: io.TextIOWrapper, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, [cell.strip() for cell in cells]
            # A quoted field may span lines; the next record starts after this one's last line.
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileRefused(
            f"Line {reader.line_num} cannot be read ({exc}); a quote is probably not closed. "
            "Fix that line and upload again."
        ) from exc
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"The text after line {reader.line_num} is not valid {encoding}. "
            "Save the file as CSV (UTF-8) and upload it again."
        ) from exc


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    # Iterating the file would read a line of any length into memory; a file without newlines
    # would be read whole.
    for number in itertools.count(1):
        line = text.readline(_MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > _MAX_LINE_CHARS:
            raise FileRefused(
                f"Line {number} is longer than {_MAX_LINE_CHARS:,} characters, so this is not a "
                f"usable CSV file. {_EXPORT_ADVICE}"
            )
        yield line


def _xlsx_records(path: str) -> Records:
    """The first worksheet's rows (ingest.xlsx: streaming, the cells openpyxl gave)."""
    try:
        yield from xlsx.sheet_records(path, _cell_text, _EXCEL_MAX_ROWS)
    except xlsx.TooManyRows as exc:
        raise FileRefused(f"The sheet claims more rows than Excel allows. {_EXPORT_ADVICE}") from exc
    except _XLSX_ERRORS as exc:
        raise _unreadable_workbook() from exc


def _unreadable_workbook() -> FileRefused:
    return FileRefused(f"The Excel file is damaged or unsafe and cannot be read. {_EXPORT_ADVICE}")


def _cell_text(value: object) -> str:
    """The cell as text the validators parse the same way as CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float; show 15 significant digits, as Excel does.
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, datetime.datetime):
        # Date-formatted cells come as datetimes, at midnight for a plain date.
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


# --- Counting ------------------------------------------------------------------------------------


def _count_csv_rows(path: str) -> int:
    lines = 0
    last = b"\n"
    for chunk in _chunks(path):
        lines += chunk.count(b"\n")
        last = chunk.rstrip(b"\x00")[-1:] or last  # UTF-16 little-endian ends in "\n\x00"
    if last != b"\n":
        lines += 1  # the last line has no newline
    return max(lines - 1, 0)


def _count_xlsx_rows(path: str) -> int:
    with zipfile.ZipFile(path) as archive:
        member = xlsx.first_sheet_member(archive)
        if member is None:
            return 0
        with archive.open(member) as sheet:
            head = sheet.read(_HEAD_BYTES)  # <dimension> precedes the data
            declared = _DIMENSION.search(head)
            if declared:
                return max(int(declared.group(1)) - 1, 0)
            return max(
                _count_row_ends(itertools.chain([head], iter(lambda: sheet.read(_CHUNK_BYTES), b""))) - 1, 0
            )


def _count_row_ends(chunks: Iterable[bytes]) -> int:
    # A regex over raw chunks is ~50x faster than parsing. An unfinished tag at the end of a
    # chunk is carried over; a complete one was counted already and is not.
    count, carry = 0, b""
    for chunk in chunks:
        buffer = carry + chunk
        count += len(_ROW_END.findall(buffer))
        tail = buffer[buffer.rfind(b"<") :]
        carry = tail if b">" not in tail and len(tail) < 64 else b""
    return count


# --- Helpers -------------------------------------------------------------------------------------


def _read_head(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read(_HEAD_BYTES)


def _chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as file:
        yield from iter(lambda: file.read(_CHUNK_BYTES), b"")


def _size_text(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size >= 2**20 else f"{size / 2**10:,.1f} KB"
