"""Text work for the knowledge base, without Django: documents to plain text, text to sentences
and passages (chunks of a few sentences), and the names and hashes documents are known by."""

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

CHUNK_WORDS = 70  # a passage closes once it holds this many words…
CHUNK_SENTENCES = 4  # …or this many sentences: short enough to cite, long enough to answer
MAX_SENTENCE_WORDS = 60  # a "sentence" longer than this (a list without full stops) is cut
DOC_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
DOC_ID_RULE = "may only hold letters, digits, hyphens and underscores, starting with a letter or digit, e.g. renewal-policy"

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx|incl|Mr|Ms|Dr|No|Inc|Ltd)\.$", re.IGNORECASE)


@dataclass(frozen=True)
class Passage:
    position: int
    text: str


def content_hash(title: str, content: str) -> str:
    """Same title and text (whitespace aside) → same hash → re-sending changes nothing."""
    normal = " ".join(title.split()) + "\n" + " ".join(content.split())
    return hashlib.sha256(normal.encode()).hexdigest()


def doc_id_from_name(name: str) -> str:
    """`Renewal Policy (2026).md` → `renewal-policy-2026`: the id a file gives its document."""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name.replace("\\", "/").rsplit("/", 1)[-1])
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug[:100].strip("-") or "document"


def title_from_name(name: str) -> str:
    return doc_id_from_name(name).replace("-", " ").capitalize()


def sentences(text: str) -> list[str]:
    """Sentences of a text; each paragraph or list item ends one, too."""
    found = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)", text):
        flat = _BULLET.sub("", " ".join(block.split()))
        found += [piece for part in _split_block(flat) for piece in _cut_long(part)]
    return found


def _split_block(block: str) -> list[str]:
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(block):
        if not _ABBREVIATIONS.search(block[start : match.start()]):
            parts.append(block[start : match.start()].strip())
            start = match.end()
    parts.append(block[start:].strip())
    return [part for part in parts if part]


def _cut_long(sentence: str) -> list[str]:
    words = sentence.split()
    return [" ".join(words[i : i + MAX_SENTENCE_WORDS]) for i in range(0, len(words), MAX_SENTENCE_WORDS)]


def passages(text: str) -> list[Passage]:
    """Consecutive sentences grouped into passages, numbered from 0 in reading order."""
    groups: list[list[str]] = [[]]
    for sentence in sentences(text):
        current = groups[-1]
        if current and (
            len(current) >= CHUNK_SENTENCES or sum(len(s.split()) for s in current) >= CHUNK_WORDS
        ):
            groups.append(current := [])
        current.append(sentence)
    return [Passage(position, " ".join(group)) for position, group in enumerate(g for g in groups if g)]


# --- formats -----------------------------------------------------------------------------------

_MD_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"```.*?```", re.DOTALL), lambda m: "\n" + m.group(0).strip("`") + "\n"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$", re.MULTILINE), r"\n\1.\n"),  # headings end a sentence
    (re.compile(r"^\s{0,3}>\s?", re.MULTILINE), ""),  # quotes
    (re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.MULTILINE), ""),  # table rules
    (re.compile(r"[ \t]*\|[ \t]*"), " "),  # table cells
    (re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis, inline code
    (re.compile(r"^\s*([-*+]|\d+[.)])\s+", re.MULTILINE), "- "),  # list items, one marker
    (re.compile(r"^\s*([-*_]\s*){3,}$", re.MULTILINE), ""),  # horizontal rules
]


def markdown_title_and_text(source: str) -> tuple[str, str]:
    """The first heading (or "") and the text without Markdown's marks."""
    heading = re.search(r"^\s{0,3}#{1,6}\s*(.+?)\s*#*\s*$", source, re.MULTILINE)
    text = source
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return (heading.group(1).strip() if heading else ""), re.sub(r"\.\.\n", ".\n", text).strip()


_BLOCKS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "table",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "hr",
    "header",
    "footer",
    "dt",
    "dd",
}
_SKIPPED = {"script", "style", "noscript", "template", "svg", "head"}


class _HtmlText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self.heading = ""
        self._skipping = 0
        self._in = ""

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED or tag == "title":
            self._skipping += tag != "title"
            self._in = tag if tag == "title" else self._in
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "h1" and not self.heading:
            self._in = "h1"

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self._skipping = max(self._skipping - 1, 0)
        if tag in ("title", "h1"):
            self._in = ""
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in == "title":
            self.title_parts.append(data)
        elif not self._skipping:
            self.parts.append(data)
            if self._in == "h1":
                self.heading += data


def html_title_and_text(source: str) -> tuple[str, str]:
    """The page's <title> (else its first <h1>, else "") and its readable text."""
    parser = _HtmlText()
    parser.feed(source)
    parser.close()
    title = " ".join("".join(parser.title_parts).split()) or " ".join(parser.heading.split())
    text = re.sub(r"\n\s*\n\s*", "\n\n", html.unescape("".join(parser.parts)))
    return title, text.strip()
