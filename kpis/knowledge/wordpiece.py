"""BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2 was trained with it.

A few dozen lines instead of the `tokenizers` package, which would bring huggingface_hub and an
HTTP client stack (13 packages) into the web process for one lookup table. Checked token for
token against `tokenizers` on ~1,000 lines of mixed text (accents, CJK, emoji, punctuation);
tests/kpis/test_knowledge_text.py pins a sample of those ids."""

import unicodedata
from functools import lru_cache
from pathlib import Path

VOCAB_PATH = Path(__file__).parent / "data" / "minilm-vocab.txt"
MAX_WORD_CHARS = 100  # BERT maps longer "words" (hashes, base64) to [UNK] rather than splitting them
_ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


class WordPiece:
    def __init__(self, vocab: dict[str, int]):
        self.vocab = vocab
        self.unk, self.cls, self.sep = vocab["[UNK]"], vocab["[CLS]"], vocab["[SEP]"]

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """[CLS] pieces… [SEP], cut to `max_tokens` in all."""
        ids = [self.cls]
        for word in basic_tokens(text):
            ids.extend(self._word(word))
            if len(ids) >= max_tokens - 1:
                break
        return ids[: max_tokens - 1] + [self.sep]

    def _word(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            piece = self._longest_piece(word, start)
            if piece is None:
                return [self.unk]
            pieces.append(piece[0])
            start = piece[1]
        return pieces

    def _longest_piece(self, word: str, start: int) -> tuple[int, int] | None:
        for end in range(len(word), start, -1):
            candidate = word[start:end] if start == 0 else "##" + word[start:end]
            if candidate in self.vocab:
                return self.vocab[candidate], end
        return None


@lru_cache(maxsize=1)
def tokenizer() -> WordPiece:
    with open(VOCAB_PATH, encoding="utf-8") as handle:
        return WordPiece({line.rstrip("\n"): index for index, line in enumerate(handle)})


def basic_tokens(text: str) -> list[str]:
    """Lower-cased words with accents stripped and every punctuation mark a word of its own."""
    text = unicodedata.normalize("NFD", _clean(text).lower())
    text = "".join(char for char in text if unicodedata.category(char) != "Mn")
    words = []
    for chunk in text.split():
        words.extend(_split_punctuation(chunk))
    return words


def _clean(text: str) -> str:
    out = []
    for char in text:
        if char in "\x00\ufffd" or (unicodedata.category(char).startswith("C") and char not in "\t\n\r"):
            continue
        if _is_cjk(ord(char)):
            out.append(f" {char} ")
        else:
            out.append(" " if char.isspace() else char)
    return "".join(out)


def _split_punctuation(chunk: str) -> list[str]:
    words, current = [], ""
    for char in chunk:
        if char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P"):
            words += [current, char] if current else [char]
            current = ""
        else:
            current += char
    return words + [current] if current else words


def _is_cjk(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in _CJK_RANGES)
