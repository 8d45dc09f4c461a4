"""Read the first worksheet of an .xlsx workbook as rows of text, streaming, in constant memory.

The cells come out exactly as openpyxl's read-only reader gave them to `parsers._cell_text`
(the reader uploads used until issue 16; tests/ingest/test_xlsx.py compares the two on odd
workbooks): the same sheet (the first worksheet of workbook.xml, chart sheets skipped), cached
formula results, numbers as int or float by openpyxl's rule, date cells found by openpyxl's own
`is_date_format` on the styles' number formats and converted by its `from_excel` with the
workbook's 1900/1904 epoch, the same row numbers, gaps and row widths.

Why not openpyxl: it parses through defusedxml's pure-Python XML parser, 73-90 s for a million
rows. Why not python-calamine: it loads the whole sheet into memory (bench/xlsx.py measures it).
So the sheet is read from the zip in chunks by one of two parsers producing the same tokens:
- the fast path, for the XML Excel and the common libraries write (cells `<c r s t>`, `<v>`,
  `<f>`, plain inline strings, no prefixes, comments or entities beyond XML's own): one regular
  expression turns a chunk into a list of tuples in C, so Python touches each cell once;
- the general path, expat with handlers per element, for anything else the fast path does not
  recognize (namespace prefixes, rich inline text, comments, CDATA, other encodings). The fast
  path hands over mid-sheet: expat restarts at the top and skips the rows already given.
Only the shared-strings table is held whole, as openpyxl holds it; the zip-bomb limits checked
before reading (parsers.check_xlsx_safety) bound it. Both parsers refuse a DOCTYPE: entity
declarations are how XML bombs work, and Excel never writes one.
"""

from __future__ import annotations

import datetime
import posixpath
import re
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

import defusedxml.ElementTree as SafeET
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

Record = tuple[int, list[str]]  # (sheet row number, cells as text)
# One match of _TOKENS: a cell's column letters, style, type, <v> text, inline text; or any other
# token whole (a row's start, </row>, </sheetData>, anything else) with a row's number and the "/"
# of an empty row. Absent parts are b"".
Token = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]
CellText = Callable[[object], str]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_MAIN = "{" + _MAIN + "}"
_NS_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_NS_CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_CHUNK_BYTES = 1024 * 1024
_HEAD_LIMIT = 4 * 1024 * 1024  # what precedes <sheetData> (column widths, views) is far smaller
_MAX_COLUMNS = 18_278  # ZZZ, the widest reference openpyxl reads
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CACHE_ENTRIES = 65_536  # converted cell values kept; cleared when full, so memory stays bounded
_MAIN_DEFAULT = b'xmlns="' + _MAIN.encode() + b'"'
_SHEET_DATA = re.compile(rb"<sheetData\s*(/?)>")
_ENCODING = re.compile(rb'^\s*<\?xml[^>]*\bencoding\s*=\s*["\']([\w.-]+)')
_ROW_END = b"</row>"

# Every non-space byte of <sheetData> belongs to a token, or to the last group, which sends the
# sheet to the general path.
_TOKENS = re.compile(
    rb'<c(?: r="([A-Z]{1,3})\d+")?(?: s="(\d+)")?(?: t="(\w+)")?\s*'
    rb"(?:/>|>(?:<f(?: [^>]*)?(?:/>|>[^<]*</f>))?(?:<v>([^<]*)</v>|<v\s*/>)?"
    rb'(?:<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)'
    rb'|(<row r="(\d+)"(?: [\w:]+="[^"]*")*\s*(/?)>|</row>|</sheetData>|\S)'
)
_ENTITY = re.compile(rb"&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);")
_XML_ENTITIES = {b"amp": "&", b"lt": "<", b"gt": ">", b"quot": '"', b"apos": "'"}


class TooManyRows(ValueError):
    """A row number beyond Excel's limit: a forged sheet."""


class Unsafe(ValueError):
    """A DOCTYPE in a part, or an entity XML does not define."""


@dataclass(frozen=True)
class Workbook:
    sheet: str | None  # the zip member of the first worksheet
    shared_strings: list[str]
    date_styles: frozenset[int]  # cellXfs indexes whose number format is a date or time
    timedelta_styles: frozenset[int]
    epoch: datetime.datetime


def sheet_records(path: str, cell_text: CellText, max_rows: int) -> Iterator[Record]:
    """Every row of the first worksheet, as openpyxl's read-only `iter_rows(values_only=True)`
    numbered them (missing rows come as empty ones), each cell through `cell_text`.
    Raises ValueError subclasses, KeyError, IndexError, zipfile and expat errors on damage."""
    with zipfile.ZipFile(path) as archive:
        book = workbook_read(archive)
        if book.sheet is None:
            return
        rows = _RowBuilder(book, cell_text, max_rows)
        yield from _fast_rows(archive, book.sheet, rows)
        if not rows.finished:  # the fast path stopped at XML it does not know
            yield from _expat_rows(archive, book.sheet, rows)


# --- The workbook's parts ------------------------------------------------------------------------


def workbook_read(archive: zipfile.ZipFile) -> Workbook:
    names = set(archive.namelist())
    workbook = _xml(archive, "xl/workbook.xml")
    properties = workbook.find(f"{_NS_MAIN}workbookPr")
    date1904 = properties is not None and properties.get("date1904", "") not in ("", "false", "f", "0")
    date_styles, timedelta_styles = _date_styles(archive) if "xl/styles.xml" in names else (set(), set())
    strings_part = _shared_strings_part(archive)
    return Workbook(
        sheet=first_sheet_member(archive, workbook),
        shared_strings=_shared_strings(archive, strings_part) if strings_part else [],
        date_styles=frozenset(date_styles),
        timedelta_styles=frozenset(timedelta_styles),
        epoch=MAC_EPOCH if date1904 else WINDOWS_EPOCH,
    )


def first_sheet_member(archive: zipfile.ZipFile, workbook=None) -> str | None:
    """The part of the first worksheet, found as openpyxl finds it: sheets in workbook.xml order,
    chart sheets and sheets whose part is missing skipped."""
    workbook = _xml(archive, "xl/workbook.xml") if workbook is None else workbook
    relations = _xml(archive, "xl/_rels/workbook.xml.rels")
    targets = {
        relation.get("Id"): (relation.get("Type", ""), _resolve(relation.get("Target", "")))
        for relation in relations.iter(f"{_NS_PACKAGE_RELS}Relationship")
        if relation.get("TargetMode") != "External"
    }
    names = set(archive.namelist())
    for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
        if not sheet.get(_REL_ID):
            continue  # openpyxl drops such sheets with a warning
        kind, target = targets[sheet.get(_REL_ID)]  # a dangling id is damage, as for openpyxl
        if target in names and "chartsheet" not in kind:
            return target
    return None


def _resolve(target: str) -> str:
    return target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _xml(archive: zipfile.ZipFile, name: str):
    # defusedxml refuses entity declarations; these parts are small and read whole.
    return SafeET.fromstring(archive.read(name))


def _shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    # openpyxl finds the table by its content type, wherever the part is.
    types = _xml(archive, "[Content_Types].xml")
    for override in types.iter(f"{_NS_CONTENT_TYPES}Override"):
        if override.get("ContentType") == _SHARED_STRINGS_TYPE:
            return override.get("PartName", "")[1:]
    return None


def _date_styles(archive: zipfile.ZipFile) -> tuple[set[int], set[int]]:
    """The cell styles (cellXfs indexes) openpyxl reads as dates, and as durations."""
    styles = _xml(archive, "xl/styles.xml")
    custom = {
        int(number_format.get("numFmtId")): number_format.get("formatCode")
        for number_format in styles.iter(f"{_NS_MAIN}numFmt")
    }
    dates, durations = set(), set()
    cell_formats = styles.find(f"{_NS_MAIN}cellXfs")
    for index, xf in enumerate(() if cell_formats is None else cell_formats.iter(f"{_NS_MAIN}xf")):
        format_id = int(xf.get("numFmtId", 0))
        code = custom[format_id] if format_id in custom else BUILTIN_FORMATS.get(format_id)
        if is_date_format(code):
            dates.add(index)
        if is_timedelta_format(code):
            durations.add(index)
    return dates, durations


def _shared_strings(archive: zipfile.ZipFile, member: str) -> list[str]:
    """Each <si>'s text: its <t>, or its runs' <t>s, without phonetic guides (<rPh>)."""
    strings: list[str] = []
    parts: list[str] = []
    path: list[str] = []

    def start(name: str, _attributes: dict) -> None:
        path.append(name)
        if name == f"{_MAIN}}}si":
            parts.clear()

    def end(name: str) -> None:
        path.pop()
        if name == f"{_MAIN}}}si":
            strings.append("".join(parts).replace("x005F_", ""))  # as openpyxl's read_string_table

    def data(text: str) -> None:
        if path and path[-1] == f"{_MAIN}}}t" and f"{_MAIN}}}rPh" not in path:
            parts.append(text)

    _expat_parse(archive, member, start, end, data)
    return strings


# --- Rows: what both parsers share ---------------------------------------------------------------


class _RowBuilder:
    """Tokens of either parser into rows as openpyxl built them: each row a list as wide as its
    last cell, rows numbered as the sheet numbers them, missing ones given empty. Each distinct
    raw value is converted once (a bounded cache: sheets repeat dates, prices, quantities)."""

    def __init__(self, book: Workbook, cell_text: CellText, max_rows: int) -> None:
        self.book, self.cell_text, self.max_rows = book, cell_text, max_rows
        self.shared = [cell_text(text) for text in book.shared_strings]
        self.blank = cell_text(None)
        self.cache: dict[tuple[bytes, bytes, bytes], str] = {}
        self.columns: dict[bytes, int] = {}
        self.in_order = [_letters(column).encode() for column in range(1, _MAX_COLUMNS + 1)]
        self.last_row = 0  # the last row given
        self.number = 0  # the current row's
        self.texts: list[str] = []  # the current row's cells ...
        self.references: list[bytes] = []  # ... and their column letters
        self.finished = False  # </sheetData> was reached

    def consume(self, tokens: list[Token]) -> Generator[Record, None, bool]:
        """The rows the tokens complete; returns False at a token the fast path does not know.
        One loop for every cell of the sheet, so what it does per cell is kept to the minimum:
        columns are only worked out for a row whose references are not A, B, C..."""
        shared, cache, blank = self.shared, self.cache, self.blank
        texts, references = self.texts, self.references
        for letters, style, kind, value, inline, other, number, empty in tokens:
            if other:
                if number:
                    self.number, texts, references = int(number), [], []
                    self.texts, self.references = texts, references
                    if not empty:
                        continue
                elif other == b"</sheetData>":
                    self.finished = True
                    return True
                elif other != _ROW_END:
                    return False
                yield from self._row_end()
                continue
            if kind == b"s":
                text = shared[int(value)] if value else blank
            else:
                if kind == b"inlineStr":
                    value = inline
                known = cache.get((kind, style, value)) if value else blank
                text = self._converted(kind, style, value) if known is None else known
            texts.append(text)
            references.append(letters)
        return True

    def _row_end(self) -> Iterator[Record]:
        number = self.number
        if number <= self.last_row:  # out of order or repeated: openpyxl skips it
            return
        if number > self.max_rows:
            raise TooManyRows(number)
        for gap in range(self.last_row + 1, number):
            yield gap, []
        self.last_row = number
        texts, references = self.texts, self.references
        if references == self.in_order[: len(references)]:
            yield number, texts
            return
        places = self._places(references)
        row = [self.blank] * places[-1]  # openpyxl: as wide as the last cell, not the widest
        for column, text in zip(places, texts, strict=True):
            if column <= len(row):
                row[column - 1] = text
        yield number, row

    def _places(self, references: list[bytes]) -> list[int]:
        places: list[int] = []
        for letters in references:
            if letters:
                places.append(self.columns.get(letters) or self._column(letters))
            else:  # no reference: the next column, as openpyxl counts
                places.append(places[-1] + 1 if places else 1)
        return places

    def _column(self, letters: bytes) -> int:
        if len(letters) > 3 or not letters.isalpha():
            raise ValueError(f"{letters!r} is not a column")
        column = 0
        for letter in letters.upper():
            column = column * 26 + letter - 64
        self.columns[letters] = column
        return column

    def _converted(self, kind: bytes, style: bytes, value: bytes) -> str:
        if len(self.cache) >= _CACHE_ENTRIES:
            self.cache.clear()
        text = self.cache[kind, style, value] = self.cell_text(
            self._value(kind or b"n", int(style or 0), value)
        )
        return text

    def _value(self, kind: bytes, style: int, value: bytes) -> object:
        """The Python value openpyxl's WorkSheetParser.parse_cell gives with data_only=True."""
        if kind == b"n":
            number = float(value) if b"." in value or b"E" in value or b"e" in value else int(value)
            if style not in self.book.date_styles:
                return number
            try:
                return from_excel(number, self.book.epoch, timedelta=style in self.book.timedelta_styles)
            except (OverflowError, ValueError):
                return "#VALUE!"  # openpyxl's answer to a date outside the calendar
        if kind == b"b":
            return bool(int(value))
        if kind == b"d":
            return from_ISO8601(_decoded(value))
        return _decoded(value)  # str (a formula's text), e, inlineStr, and unknown types


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _decoded(raw: bytes) -> str:
    """Raw XML text as the XML parser would give it: line ends normalized, entities resolved."""
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b"&" not in raw:
        return raw.decode()
    pieces = _ENTITY.split(raw)  # text, entity name, text, ...
    if any(b"&" in text for text in pieces[::2]):
        raise Unsafe("an entity XML does not define")  # or a bare "&": malformed either way
    return "".join(_entity(piece) if odd else piece.decode() for odd, piece in _alternating(pieces))


def _alternating(pieces: list[bytes]) -> Iterator[tuple[bool, bytes]]:
    return ((index % 2 == 1, piece) for index, piece in enumerate(pieces))


def _entity(name: bytes) -> str:
    if name.startswith(b"#x"):
        return chr(int(name[2:], 16))
    if name.startswith(b"#"):
        return chr(int(name[1:]))
    if name not in _XML_ENTITIES:
        raise Unsafe("an entity XML does not define")
    return _XML_ENTITIES[name]


# --- The fast path -------------------------------------------------------------------------------


def _fast_rows(archive: zipfile.ZipFile, member: str, rows: _RowBuilder) -> Iterator[Record]:
    with archive.open(member) as sheet:
        head, buffer = _sheet_data_start(sheet)
        if head is None:
            return
        # expat reads all but the rows: it refuses a DOCTYPE and XML that is not well formed
        # around them, as openpyxl's parser would.
        outline = _expat_parser()
        outline.Parse(head + b"<sheetData>", False)
        while True:
            chunk = sheet.read(_CHUNK_BYTES)
            buffer += chunk
            # Whole rows only: a row cut between two chunks waits for the next one.
            end = buffer.rfind(_ROW_END) + len(_ROW_END) if chunk else len(buffer)
            if end < len(_ROW_END):
                continue
            complete, buffer = buffer[:end], buffer[end:]
            known = yield from rows.consume(_TOKENS.findall(complete))
            if not known:
                return  # at XML it does not know, the general path takes over
            if rows.finished:
                # "</sheetData>" cannot occur earlier: text in XML escapes its "<"
                outline.Parse(complete[complete.find(b"</sheetData>") :] + buffer, False)
                while chunk := sheet.read(_CHUNK_BYTES):
                    outline.Parse(chunk, False)
                outline.Parse(b"", True)
                return
            if not chunk:
                raise ValueError("the sheet ends inside <sheetData>")


def _sheet_data_start(sheet: IO[bytes]) -> tuple[bytes | None, bytes]:
    """(what precedes <sheetData>, what follows it); (None, b"") when the sheet's head is not as
    the fast path knows it."""
    head = b""
    while len(head) < _HEAD_LIMIT:
        chunk = sheet.read(_CHUNK_BYTES)
        head += chunk
        found = _SHEET_DATA.search(head)
        declared = _ENCODING.match(head)
        if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            break
        if found and _MAIN_DEFAULT not in head[: found.start()]:
            break  # unprefixed elements in another namespace: openpyxl reads none of them
        if found:
            rest = (b"</sheetData>" if found.group(1) else b"") + head[found.end() :]
            return head[: found.start()], rest
        if not chunk:
            break
    return None, b""  # a prefixed <x:sheetData>, UTF-16, or a head too large to be Excel's


# --- The general path ----------------------------------------------------------------------------


def _expat_rows(archive: zipfile.ZipFile, member: str, rows: _RowBuilder) -> Iterator[Record]:
    """The whole sheet through expat; rows the fast path gave already are skipped by number."""
    sheet_tokens = _ExpatTokens()
    parser = _expat_parser(sheet_tokens.start, sheet_tokens.end, sheet_tokens.data)
    with archive.open(member) as sheet:
        while chunk := sheet.read(_CHUNK_BYTES):
            parser.Parse(chunk, False)
            yield from rows.consume(sheet_tokens.taken())
        parser.Parse(b"", True)
        yield from rows.consume(sheet_tokens.taken())
    rows.finished = True


class _ExpatTokens:
    """Element handlers that turn <sheetData> into the fast path's tokens: raw XML text (entities
    escaped again, which the row builder resolves), rows numbered as openpyxl numbers them."""

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self.number = 0
        self.cell: dict | None = None  # attributes of the open <c>
        self.value: list[str] | None = None  # text of its <v>, or of its <is>
        self.collecting = self.phonetic = self.in_data = False

    def taken(self) -> list[Token]:
        tokens, self.tokens = self.tokens, []
        return tokens

    def start(self, name: str, attributes: dict) -> None:
        local = _local(name)
        if local == "sheetData":
            self.in_data = True
        elif not self.in_data or local is None:
            return
        elif local == "row":
            self.number = _row_number(attributes.get("r"), self.number)
            self.tokens.append((b"", b"", b"", b"", b"", b"<row", str(self.number).encode(), b""))
        elif local == "c":
            self.cell, self.value = attributes, None
        elif self.cell is None:
            return
        elif local == "v" and self.cell.get("t") != "inlineStr":
            self.value, self.collecting = [], True
        elif local == "is" and self.cell.get("t") == "inlineStr":
            self.value, self.phonetic = [], False
        elif local == "rPh":
            self.phonetic = True
        elif local == "t" and self.value is not None and not self.phonetic:
            self.collecting = True

    def end(self, name: str) -> None:
        self.collecting = False
        local = _local(name)
        if not self.in_data or local is None:
            return
        if local == "sheetData":
            self.in_data = False
            self.tokens.append((b"", b"", b"", b"", b"", b"</sheetData>", b"", b""))
        elif local == "row":
            self.tokens.append((b"", b"", b"", b"", b"", _ROW_END, b"", b""))
        elif local == "c" and self.cell is not None:
            self.tokens.append(self._cell_token(self.cell))
            self.cell = None

    def _cell_token(self, attributes: dict) -> Token:
        reference = attributes.get("r") or ""
        letters = reference[: len(reference) - len(reference.lstrip(_LETTERS))].encode()
        style = attributes.get("s")
        # openpyxl: s="" is no style at all, not style 0
        style_bytes = b"-1" if style == "" else (style or "").encode()
        raw = _escaped("".join(self.value)).encode() if self.value else b""
        kind = attributes.get("t", "n").encode()
        return (letters, style_bytes, kind, raw, raw, b"", b"", b"")

    def data(self, text: str) -> None:
        if self.collecting and self.value is not None:
            self.value.append(text)


def _local(name: str) -> str | None:
    """The local name of a SpreadsheetML element; None for other namespaces, as openpyxl ignores them."""
    namespace, _, local = name.rpartition("}")
    return local if namespace == _MAIN else None


def _row_number(attribute: str | None, previous: int) -> int:
    if attribute is None:
        return previous + 1
    try:
        return int(attribute)
    except ValueError:
        number = float(attribute)  # openpyxl accepts "5.0"
        if not number.is_integer():
            raise
        return int(number)


def _escaped(text: str) -> str:
    # The row builder takes raw XML text (the fast path's); expat's is decoded already.
    return text.replace("&", "&amp;").replace("\r", "&#13;")


def _expat_parser(start=None, end=None, data=None) -> expat.XMLParserType:
    """An expat parser refusing DTDs; without handlers it only checks the XML is well formed."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    def refuse_doctype(*_arguments) -> None:
        raise Unsafe("a DOCTYPE")

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    if start:
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    return parser


def _expat_parse(archive: zipfile.ZipFile, member: str, start, end, data) -> None:
    parser = _expat_parser(start, end, data)
    with archive.open(member) as part:
        parser.ParseFile(part)
