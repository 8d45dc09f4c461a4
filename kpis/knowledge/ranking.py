"""Ranking without Django: fusing the lexical and semantic rankings, deciding whether the
evidence answers the question at all, and picking the sentences of an extractive answer."""

import re
from dataclasses import dataclass

from kpis.knowledge.text import sentences

RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al. 2009), bench/kb.py's baseline fusion
# The fusion answers use: the passage's cosine plus a bonus for its full-text rank, LEXICAL_BONUS at
# rank 1 falling as 1/rank. On bench/kb.py's labelled set it beat RRF and both rankings alone.
LEXICAL_BONUS = 0.1
BONUS_RANK_OFFSET = 5
# Below this cosine between the question and its closest passage, the documents do not answer it:
# calibrated by bench/kb.py on its labelled set (answerable ≥ 0.33, unanswerable ≤ 0.30).
MIN_SIMILARITY = 0.32
ANSWER_PASSAGES = 3  # passages an answer may draw on
ANSWER_SENTENCES = 3
STEM_CHARS = 5  # "renewal", "renews", "renewing" → "renew": a crude stem that serves overlap well

_STOPWORD_TEXT = """
a about above after again all am an and any are as at be been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor not now of off on once
only or other our ours out over own same she should so some such than that the their them then there
these they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours us get got tell know please
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Evidence:
    ref: int  # the [n] the answer cites
    text: str


def fuse(*rankings: list[int], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of ranked id lists: (id, score), best first; ties keep first-seen order."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def hybrid(similarities: dict[int, float], lexical: list[int]) -> list[tuple[int, float]]:
    """Passages by cosine plus a full-text bonus: (id, score), best first. The cosine keeps the
    paraphrases full text misses; the bonus lifts exact terms (names, numbers) the model blurs."""
    bonus = {
        item: LEXICAL_BONUS * (BONUS_RANK_OFFSET + 1) / (BONUS_RANK_OFFSET + rank)
        for rank, item in enumerate(lexical, start=1)
    }
    scored = {item: similarity + bonus.get(item, 0.0) for item, similarity in similarities.items()}
    return sorted(scored.items(), key=lambda pair: -pair[1])


def is_answerable(best_similarity: float, threshold: float = MIN_SIMILARITY) -> bool:
    return best_similarity >= threshold


def stems(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_stem(word) for word in words if word not in STOPWORDS and len(word) > 1}


def _stem(word: str) -> str:
    """Plural and verb endings off, then the first few letters: pages/page, renewing/renewal."""
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    return word[:STEM_CHARS]


def extract_answer(question: str, evidence: list[Evidence]) -> list[tuple[int, str]]:
    """(ref, sentence) pairs answering `question`: from each of the best passages, the sentence
    sharing most words with the question (its first sentence when none shares any)."""
    wanted = stems(question)
    chosen: list[tuple[int, str]] = []
    for item in evidence[:ANSWER_PASSAGES]:
        candidates = sentences(item.text)
        if not candidates:
            continue
        best = max(candidates, key=lambda sentence: (_overlap(wanted, sentence), -candidates.index(sentence)))
        chosen.append((item.ref, best))
        if len(chosen) == ANSWER_SENTENCES:
            break
    return chosen


def _overlap(wanted: set[str], sentence: str) -> float:
    found = stems(sentence)
    return len(wanted & found) / (1 + len(found)) ** 0.5
