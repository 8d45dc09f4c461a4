"""Reads of the knowledge base: documents, the index version, lexical and semantic rankings,
and the answers to questions about the tenant's own data (from kpis/selectors.py, as the portal)."""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Count, QuerySet
from django.urls import reverse

from kpis.knowledge import embedding
from kpis.models import KbChunk, KbDocument, KbQuery
from tenants.connection import tenant_connection

CANDIDATES = 50  # passages each ranking contributes to the fusion
MATRIX_TENANTS = 16  # tenants whose embedding matrix a process keeps in memory (LRU)

_matrices: OrderedDict[str, tuple[str, np.ndarray, np.ndarray]] = OrderedDict()
_matrices_lock = threading.Lock()


def index_version() -> int:
    return int(index_key().rsplit(".", 1)[-1])


def index_key() -> str:
    """ "<token>.<version>" of this schema's index: what cached answers and matrices are keyed by."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT token, version FROM kpis_kbindex WHERE id = 1")
        row = cursor.fetchone()
    return f"{row[0]}.{row[1]}" if row else "none.0"


def documents_with_counts() -> QuerySet[KbDocument]:
    return KbDocument.objects.annotate(passages=Count("chunks")).defer("content").order_by("title", "doc_id")


def queries_recent() -> QuerySet[KbQuery]:
    return KbQuery.objects.all()


def lexical_ranking(question: str, limit: int = CANDIDATES) -> list[int]:
    """Chunk ids by full-text rank. websearch_to_tsquery reads the question as a search box
    would; its ANDs become ORs, since a question rarely shares all of its words with the answer."""
    sql = """
        WITH q AS (SELECT to_tsquery('english',
                   replace(websearch_to_tsquery('english', %s)::text, ' & ', ' | ')) AS query)
        SELECT c.id FROM kpis_kbchunk c, q
        WHERE q.query::text <> '' AND c.search @@ q.query
        ORDER BY ts_rank_cd(c.search, q.query) DESC, c.id LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [question, limit])
        return [row[0] for row in cursor.fetchall()]


def chunk_matrix() -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, their embeddings) of this tenant, from memory while the index version holds.

    Keyed by schema name and checked against the version read from that schema, so a process
    serving many tenants never answers one from another's matrix, nor from a stale one."""
    schema, version = tenant_connection().schema_name, index_key()
    with _matrices_lock:
        held = _matrices.get(schema)
        if held and held[0] == version:
            _matrices.move_to_end(schema)
            return held[1], held[2]
    rows = KbChunk.objects.order_by("pk").values_list("pk", "embedding")
    ids = np.array([pk for pk, _vector in rows], dtype=np.int64)
    matrix = embedding.from_bytes([bytes(vector) for _pk, vector in rows])
    with _matrices_lock:
        _matrices[schema] = (version, ids, matrix)
        while len(_matrices) > MATRIX_TENANTS:
            _matrices.popitem(last=False)
    return ids, matrix


def similarities(question_vector: np.ndarray) -> dict[int, float]:
    """Cosine of the question with every chunk of the tenant (vectors are unit length)."""
    ids, matrix = chunk_matrix()
    return dict(zip(ids.tolist(), (matrix @ question_vector).tolist(), strict=True))


def semantic_ranking(scores: dict[int, float], limit: int = CANDIDATES) -> list[int]:
    return sorted(scores, key=lambda pk: -scores[pk])[:limit]


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    doc_id: str
    title: str
    position: int
    text: str

    @property
    def url(self) -> str:
        return reverse("kb_document", args=[self.doc_id]) + f"#passage-{self.position}"


def passages_by_id(chunk_ids: list[int]) -> dict[int, Passage]:
    rows = KbChunk.objects.filter(pk__in=chunk_ids).values_list(
        "pk", "document__doc_id", "document__title", "position", "text"
    )
    return {row[0]: Passage(*row) for row in rows}
