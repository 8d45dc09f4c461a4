"""Writes of the knowledge base. Every way a document comes in — portal, API, uploads, demo
seeding — calls document_upsert(); every question goes through kb_ask(), which logs it."""

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from kpis.knowledge import embedding, generative, ranking, selectors, text
from kpis.knowledge.data_answers import data_answer
from kpis.models import KbChunk, KbDocument, KbQuery
from tenants.connection import tenant_connection
from tenants.models import Tenant
from tenants.usage import document_limit

logger = logging.getLogger(__name__)

MAX_TITLE = 300
# ~70 pages, ~450 passages: embedded within a web request's time (well under gunicorn's 30 s on
# two cores); a longer manual is several documents.
MAX_CONTENT_CHARS = 200_000
MAX_QUESTION_CHARS = 1_000
REFUSAL = (
    "The knowledge base has nothing on this: no document passage is close enough to the question to "
    "answer it. Rephrase it, or upload the document that covers it."
)
EMPTY_REFUSAL = "The knowledge base has no documents yet. Upload documents first, then ask again."


class DocumentLimitReached(ValidationError):
    """The plan's document limit is reached; the message says so and what to do."""


@dataclass(frozen=True)
class Upserted:
    document: KbDocument
    outcome: str  # "created" | "updated" | "unchanged"


def document_upsert(
    *, doc_id: str, title: str, content: str, source_name: str = "", created_by: str = ""
) -> Upserted:
    """Create or replace a document and re-index it; the same title and text change nothing.

    The passages are embedded before the transaction (the slow part holds no lock); then the
    document, its passages and the index version change together or not at all."""
    title, content = _clean(doc_id, title, content)
    digest = text.content_hash(title, content)
    current = KbDocument.objects.filter(doc_id=doc_id).first()
    if current is not None and current.content_hash == digest:
        return Upserted(current, "unchanged")
    passages = text.passages(content)
    vectors = embedding.embed([f"{title}. {passage.text}" for passage in passages])
    with transaction.atomic():
        _index_bump()  # also serialises this tenant's document writes: the limit check below holds
        document, outcome = _save(doc_id, title, content, digest, source_name, created_by)
        if outcome != "unchanged":
            _replace_chunks(document, passages, vectors)
    return Upserted(document, outcome)


def document_outcome(*, doc_id: str, title: str, content: str) -> str:
    """What document_upsert would do ("created", "updated", "unchanged"), writing nothing: the
    checks of a preview. Raises the same ValidationError it would."""
    title, content = _clean(doc_id, title, content)
    current = KbDocument.objects.filter(doc_id=doc_id).first()
    if current is None:
        _check_limit()
        return "created"
    return "unchanged" if current.content_hash == text.content_hash(title, content) else "updated"


def _clean(doc_id: str, title: str, content: str) -> tuple[str, str]:
    title, content, errors = " ".join((title or "").split()), (content or "").strip(), {}
    if not text.DOC_ID_PATTERN.match(doc_id or ""):
        errors["doc_id"] = f"The document id “{doc_id}” is not valid: it {text.DOC_ID_RULE}, 100 at most."
    if len(title) > MAX_TITLE:
        errors["title"] = f"The title has {len(title)} characters; shorten it to {MAX_TITLE} at most."
    if not content:
        errors["content"] = "The document has no text. Send its text (or upload the file it is in)."
    elif len(content) > MAX_CONTENT_CHARS:
        errors["content"] = (
            f"The text has {len(content):,} characters, above the {MAX_CONTENT_CHARS:,} limit; split it into "
            "several documents."
        )
    if errors:
        raise ValidationError(errors)
    return title or text.title_from_name(doc_id), content


def _save(doc_id, title, content, digest, source_name, created_by) -> tuple[KbDocument, str]:
    document = KbDocument.objects.select_for_update().filter(doc_id=doc_id).first()
    if document is None:
        _check_limit()
        document = KbDocument.objects.create(
            doc_id=doc_id,
            title=title,
            content=content,
            content_hash=digest,
            source_name=source_name,
            created_by=created_by,
        )
        return document, "created"
    if document.content_hash == digest:  # another writer stored the same text meanwhile
        return document, "unchanged"
    document.title, document.content, document.content_hash = title, content, digest
    document.source_name = source_name or document.source_name
    document.save()
    return document, "updated"


def _check_limit() -> None:
    tenant = Tenant.objects.select_related("plan").get(schema_name=tenant_connection().schema_name)
    limit = document_limit(tenant)
    if KbDocument.objects.count() >= limit:
        raise DocumentLimitReached(
            {
                "doc_id": f"Your plan allows {limit} documents in the knowledge base and they are all used. "
                "Delete documents you no longer need, or upgrade the plan."
            },
            code="limit",
        )


def _replace_chunks(document: KbDocument, passages: list[text.Passage], vectors) -> None:
    document.chunks.all().delete()
    KbChunk.objects.bulk_create(
        KbChunk(
            document=document,
            position=p.position,
            heading=document.title,
            text=p.text,
            embedding=embedding.to_bytes(vector),
            model=embedding.MODEL_ID,
        )
        for p, vector in zip(passages, vectors, strict=True)
    )


def _index_bump() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO kpis_kbindex (id, version, token) VALUES (1, 1, gen_random_uuid()) "
            "ON CONFLICT (id) DO UPDATE SET version = kpis_kbindex.version + 1"
        )


@transaction.atomic
def document_delete(*, document: KbDocument) -> None:
    _index_bump()
    document.delete()


# --- asking ----------------------------------------------------------------------------------------


def kb_ask(*, question: str, asked_by: str, via: str) -> dict:
    """The answer to `question` with its sources, logged; from the cache when asked before since
    the last document change. Questions about the tenant's data are answered from its data."""
    started = time.perf_counter()
    question = _question(question)
    result = data_answer(question)
    cached = False
    if result is None:
        key = _cache_key(question)
        result, cached = cache.get(key), True
        if result is None:
            result, cached = _document_answer(question), False
            cache.set(key, result, settings.KB_ANSWER_CACHE_SECONDS)
    latency = round((time.perf_counter() - started) * 1000, 1)
    KbQuery.objects.create(
        question=question,
        answer=result["answer"],
        answered=result["answered"],
        sources=result["sources"],
        latency_ms=latency,
        asked_by=asked_by[:150],
        via=via,
        cached=cached,
    )
    return {**result, "cached": cached, "latency_ms": latency}


def _question(question: str) -> str:
    question = " ".join((question or "").split())
    if not question:
        raise ValidationError(
            {"question": "Type a question, e.g. “How much notice does a customer need to give?”"}
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise ValidationError(
            {"question": f"The question has {len(question)} characters; keep it under {MAX_QUESTION_CHARS}."}
        )
    return question


def _cache_key(question: str) -> str:
    """Per index (a document change retires every cached answer) and per model (switching
    the generative model does not serve the old one's answers); the key function adds the schema."""
    fingerprint = hashlib.sha256(f"{settings.OPENAI_MODEL}\n{question.lower()}".encode()).hexdigest()
    return f"kb-answer:{selectors.index_key()}:{fingerprint}"


def _document_answer(question: str) -> dict:
    scores = selectors.similarities(embedding.embed([question])[0])
    if not scores:
        return {"answered": False, "answer": EMPTY_REFUSAL, "sources": []}
    fused = ranking.hybrid(scores, selectors.lexical_ranking(question))
    best = max(scores.values())
    if not ranking.is_answerable(best):
        return {"answered": False, "answer": REFUSAL, "sources": []}
    top = [pk for pk, _score in fused if scores.get(pk, 0.0) >= ranking.MIN_SIMILARITY][
        : ranking.ANSWER_PASSAGES
    ]
    found = selectors.passages_by_id(top)
    passages = [found[pk] for pk in top]
    return _compose(question, passages, [scores[pk] for pk in top])


def _compose(question: str, passages: list, similarities: list[float]) -> dict:
    sources = [
        {
            "ref": ref,
            "kind": "document",
            "doc_id": p.doc_id,
            "title": p.title,
            "passage": p.text,
            "score": round(similarity, 3),
            "url": p.url,
        }
        for ref, (p, similarity) in enumerate(zip(passages, similarities, strict=True), start=1)
    ]
    numbered = [(source["ref"], source["passage"]) for source in sources]
    written = _model_answer(question, numbered)
    if written is not None:
        return written | {"sources": sources if written["answered"] else []}
    evidence = [ranking.Evidence(ref, passage) for ref, passage in numbered]
    chosen = ranking.extract_answer(question, evidence)
    answer = " ".join(f"{sentence} [{ref}]" for ref, sentence in chosen)
    for source in sources:
        source["highlights"] = [sentence for ref, sentence in chosen if ref == source["ref"]]
    return {"answered": True, "answer": answer, "sources": sources}


def _model_answer(question: str, numbered: list[tuple[int, str]]) -> dict | None:
    """The generative model's answer when one is configured and it works; else None (extractive)."""
    chat = _chat_model()
    if chat is None:
        return None
    try:
        written = generative.model_answer(chat, question, numbered)
    except generative.ModelFailed as failure:
        logger.warning("Generative model failed (%s); answering extractively", failure)
        return None
    if written is None:
        return {"answered": False, "answer": REFUSAL}
    return {"answered": True, "answer": written}


def _chat_model() -> generative.ChatModel | None:
    if not (settings.OPENAI_BASE_URL and settings.OPENAI_MODEL):
        return None
    return generative.ChatModel(
        settings.OPENAI_BASE_URL,
        settings.OPENAI_API_KEY,
        settings.OPENAI_MODEL,
        settings.OPENAI_TIMEOUT_SECONDS,
    )
