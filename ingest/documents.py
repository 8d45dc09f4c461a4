"""Document files for the knowledge base (`kind=documents`): a .txt, .md, .html, .pdf or .docx
file per document, a .zip of them, or a CSV with doc_id, title, content. Each yields documents
(or the RowErrors of the line or entry, saying what to do); kpis.knowledge.services stores them."""

import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

import defusedxml.ElementTree as SafeXml
import pypdf
from defusedxml import DefusedXmlException

from ingest.parsers import (
    FileRefused,
    Limits,
    check_size,
    check_zip_safety,
    detect_encoding,
    read_header_and_rows,
)
from ingest.validation import SPECS, Context, RowError, validate_row
from kpis.knowledge.text import (
    doc_id_from_name,
    html_title_and_text,
    markdown_title_and_text,
    title_from_name,
)

FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUFFIXES = (*FORMATS, ".zip", ".csv")
MAX_PDF_PAGES = 2_000
_ADVICE = (
    "Upload .txt, .md, .html, .pdf or .docx files (one document each), a .zip of them, or a CSV with the "
    "columns doc_id, title, content."
)
_WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"


@dataclass(frozen=True)
class DocumentIn:
    line: int  # the CSV line, or the entry's number in a zip (1 for a single file)
    doc_id: str
    title: str
    content: str
    source_name: str


class _Unreadable(Exception):
    """One document that cannot be read; str() says why and what to do."""


def suffix_of(name: str) -> str:
    return os.path.splitext(name.lower())[1]


def check_document_file(path: str, original_name: str, limits: Limits) -> None:
    """Refuse, whole, a file that is no document Pulse reads or that could hurt the reader."""
    suffix = suffix_of(original_name)
    if suffix not in SUFFIXES:
        raise FileRefused(f"“{original_name}” is not a kind of document Pulse can read. {_ADVICE}")
    if suffix in (".zip", ".docx"):
        what = "The Word document" if suffix == ".docx" else "The ZIP archive"
        check_zip_safety(path, limits, what, _ADVICE)


def read_documents(path: str, original_name: str, limits: Limits) -> Iterator[DocumentIn | list[RowError]]:
    check_size(os.path.getsize(path), limits)
    suffix = suffix_of(original_name)
    if suffix == ".csv":
        yield from _csv_documents(path, original_name, limits)
    elif suffix == ".zip":
        yield from _zip_documents(path, limits)
    else:
        with open(path, "rb") as handle:
            yield _document(1, original_name, handle.read())


def _csv_documents(path: str, original_name: str, limits: Limits) -> Iterator[DocumentIn | list[RowError]]:
    """Rows checked like every CSV kind's (ingest.validation), each good one a document."""
    spec = SPECS["documents"]
    _header, rows = read_header_and_rows(
        path, original_name, expected=set(spec.expected), required=set(spec.required), limits=limits
    )
    context = Context(today=date.today(), kpis={})
    for row in rows:
        record, errors = validate_row("documents", row.line, row.values, context)
        if record is None:
            yield errors
        else:
            yield DocumentIn(row.line, record["doc_id"], record["title"], record["content"], original_name)


def _zip_documents(path: str, limits: Limits) -> Iterator[DocumentIn | list[RowError]]:
    """Each supported entry is a document; folders, hidden files and macOS metadata are skipped,
    anything else is reported. The archive passed check_zip_safety, so sizes are bounded."""
    with zipfile.ZipFile(path) as archive:
        entries = [m for m in archive.infolist() if not m.is_dir() and not _hidden(m.filename)]
        for number, member in enumerate(entries, start=1):
            if suffix_of(member.filename) not in FORMATS:
                yield [
                    RowError(
                        number, "file", member.filename[:200], f"not a document Pulse can read. {_ADVICE}"
                    )
                ]
                continue
            yield _document(number, member.filename, archive.read(member))


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts)


def _document(line: int, name: str, data: bytes) -> DocumentIn | list[RowError]:
    try:
        title, text = _title_and_text(FORMATS[suffix_of(name)], data)
    except _Unreadable as problem:
        return [RowError(line, "file", name[:200], str(problem))]
    base = PurePosixPath(name.replace("\\", "/")).name
    return DocumentIn(line, doc_id_from_name(base), title or title_from_name(base), text, base)


def _title_and_text(kind: str, data: bytes) -> tuple[str, str]:
    if kind == "pdf":
        return _pdf(data)
    if kind == "docx":
        return _docx(data)
    source = data.decode(detect_encoding(data[:65536]), errors="replace")
    if kind == "markdown":
        return markdown_title_and_text(source)
    if kind == "html":
        return html_title_and_text(source)
    return "", source


def _pdf(data: bytes) -> tuple[str, str]:
    if not data.startswith(b"%PDF"):
        raise _Unreadable("the file is named .pdf but is not a PDF; export it as PDF again")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise _Unreadable("the PDF is password-protected; remove the password and upload it again")
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError) as error:
        raise _Unreadable("the PDF is damaged and cannot be read; export it as PDF again") from error
    return str(title).strip(), "\n\n".join(pages)


def _docx(data: bytes) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            body = SafeXml.fromstring(package.read("word/document.xml"))
            core = package.read("docProps/core.xml") if "docProps/core.xml" in package.namelist() else None
    except (zipfile.BadZipFile, KeyError, SafeXml.ParseError, DefusedXmlException) as error:
        raise _Unreadable("the Word document is damaged or not a .docx; save it as .docx again") from error
    paragraphs = ["".join(node.text or "" for node in p.iter(f"{_WORD}t")) for p in body.iter(f"{_WORD}p")]
    title = ""
    if core:
        found = SafeXml.fromstring(core).find(_DC_TITLE)
        title = (found.text or "").strip() if found is not None else ""
    return title, "\n\n".join(p for p in paragraphs if p.strip())
