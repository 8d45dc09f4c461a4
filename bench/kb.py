"""The knowledge base measured: retrieval quality, refusals, ask latency, indexing, memory.

On the labelled set bench/kb_set/labelled.json (35 customer-success documents, 60 questions
written in other words than the documents', 8 of them unanswerable from the documents):
1. Recall@5 and nDCG@10 of lexical (PostgreSQL full text), semantic (MiniLM cosine) and fused
   retrieval (reciprocal rank fusion variants, and the cosine + full-text bonus answers use),
   documents ranked by their best passage;
2. refusals: the best passage similarity of answerable and unanswerable questions, how many of
   each kpis.knowledge.ranking.MIN_SIMILARITY answers or refuses, and the best threshold here;
then with filler documents up to --chunks passages (10,000 by default):
3. indexing throughput through document_upsert (embedding and writes), in passages per second;
4. p50/p95 latency of kb_ask without its cache and without a generative model;
5. the resident memory of a gunicorn web worker before and after its first question (the model
   loads then).
Targets: fused nDCG@10 at least 5 points above lexical; p95 ask latency under 300 ms.
Removes its tenant at the end.

Run: `python bench/kb.py [--chunks 10000]` (make bench runs it).
"""

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from kpis.knowledge import embedding, ranking, selectors  # noqa: E402
from kpis.knowledge.services import document_upsert, kb_ask  # noqa: E402
from kpis.models import KbChunk  # noqa: E402
from tenants.models import ApiKey, Plan, Tenant  # noqa: E402
from tenants.services import (  # noqa: E402
    AdminSpec,
    api_key_create,
    base_schema_ensure,
    public_tenant_ensure,
    tenant_provision,
)
from tests.live_server import free_port, wait_until_serving  # noqa: E402

SLUG = "bench-kb"
LABELLED = Path(__file__).parent / "kb_set" / "labelled.json"
TARGET_NDCG_GAIN = 5.0
TARGET_P95_MS = 300.0
FUSED = "fused: cosine + lexical bonus (used)"
FILLER_COMPANIES = [
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Acme",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    args = parser.parse_args()
    labelled = json.loads(LABELLED.read_text(encoding="utf-8"))
    settings.KB_ANSWER_CACHE_SECONDS = 0  # every ask computes its answer
    remove()
    public_tenant_ensure()
    base_schema_ensure()
    tenant = tenant_provision(
        name="Bench KB",
        slug=SLUG,
        admin=AdminSpec("Bench", "b@bench.example", "x" * 16),
        plan=Plan.objects.get(name="enterprise"),
    )
    try:
        with schema_context(SLUG):
            index_labelled(labelled["documents"])
            retrieval_quality(labelled["questions"])
            refusals(labelled["questions"])
            fill_to(args.chunks, labelled["documents"])
            ask_latency(labelled["questions"])
            passages = KbChunk.objects.count()
        worker_memory(tenant, labelled["questions"][0]["question"], passages)
    finally:
        remove()


def index_labelled(documents: list[dict]) -> None:
    started = time.perf_counter()
    for document in documents:
        document_upsert(**document)
    seconds = time.perf_counter() - started
    print(
        f"labelled set: {len(documents)} documents, {KbChunk.objects.count()} passages, indexed in {seconds:.1f} s"
    )


# --- retrieval quality -----------------------------------------------------------------------------


def document_order(chunk_ids: list[int], doc_of: dict[int, str]) -> list[str]:
    seen: list[str] = []
    for pk in chunk_ids:
        if doc_of[pk] not in seen:
            seen.append(doc_of[pk])
    return seen


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


def ndcg_at(ranked: list[str], relevant: set[str], k: int) -> float:
    gain = sum(1 / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gain / ideal


def rankings(question: str, doc_of: dict[int, str]) -> dict[str, list[str]]:
    scores = selectors.similarities(embedding.embed([question])[0])
    lexical = selectors.lexical_ranking(question)
    semantic = selectors.semantic_ranking(scores)
    orders = {
        "lexical": lexical,
        "semantic": semantic,
        "fused: RRF k=60": [pk for pk, _s in ranking.fuse(lexical, semantic)],
        "fused: RRF k=10": [pk for pk, _s in ranking.fuse(lexical, semantic, k=10)],
        "fused: RRF, semantic twice": [pk for pk, _s in ranking.fuse(lexical, semantic, semantic)],
        FUSED: [pk for pk, _s in ranking.hybrid(scores, lexical)],
    }
    return {name: document_order(order, doc_of) for name, order in orders.items()}


def retrieval_quality(questions: list[dict]) -> None:
    doc_of = dict(KbChunk.objects.values_list("pk", "document__doc_id"))
    answerable = [q for q in questions if q["relevant"]]
    totals: dict[str, list[float]] = {}
    for item in answerable:
        relevant = set(item["relevant"])
        for name, ranked in rankings(item["question"], doc_of).items():
            sums = totals.setdefault(name, [0.0, 0.0])
            sums[0] += recall_at(ranked, relevant, 5)
            sums[1] += ndcg_at(ranked, relevant, 10)
    print(f"\nretrieval over {len(answerable)} answerable questions (document level):")
    print(f"  {'ranking':40} {'Recall@5':>9} {'nDCG@10':>9}")
    for name, (recall, ndcg) in totals.items():
        print(f"  {name:40} {100 * recall / len(answerable):9.1f} {100 * ndcg / len(answerable):9.1f}")
    gain = 100 * (totals[FUSED][1] - totals["lexical"][1]) / len(answerable)
    verdict = "met" if gain >= TARGET_NDCG_GAIN else "NOT met"
    print(
        f"  fused (used) − lexical nDCG@10: {gain:+.1f} points (target ≥ +{TARGET_NDCG_GAIN:.0f}: {verdict})"
    )


# --- refusals ----------------------------------------------------------------------------------------


def refusals(questions: list[dict]) -> None:
    best = [
        (bool(q["relevant"]), max(selectors.similarities(embedding.embed([q["question"]])[0]).values()))
        for q in questions
    ]
    answerable = sorted(score for known, score in best if known)
    unanswerable = sorted(score for known, score in best if not known)
    threshold = ranking.MIN_SIMILARITY
    refused_right = sum(score < threshold for score in unanswerable)
    answered_right = sum(score >= threshold for score in answerable)
    print(f"\nrefusals at MIN_SIMILARITY = {threshold}:")
    print(
        f"  unanswerable refused: {refused_right}/{len(unanswerable)}; answerable answered: "
        f"{answered_right}/{len(answerable)}; accuracy {100 * (refused_right + answered_right) / len(best):.1f}%"
    )
    print(
        f"  best similarity, answerable: min {answerable[0]:.3f}, p10 {answerable[len(answerable) // 10]:.3f}, "
        f"median {statistics.median(answerable):.3f}; unanswerable: max {unanswerable[-1]:.3f}, "
        f"median {statistics.median(unanswerable):.3f}"
    )
    candidates = sorted({round(score, 2) for _known, score in best})
    accuracy = {t: sum((score >= t) == known for known, score in best) for t in candidates}
    top = max(accuracy.values())
    print(
        f"  best threshold here: {[t for t, a in accuracy.items() if a == top]} ({100 * top / len(best):.1f}%)"
    )


# --- scale: indexing, latency, memory ----------------------------------------------------------------


def filler(documents: list[dict], number: int, rng: random.Random) -> dict:
    """A plausible document made of sentences of the labelled ones, for another company."""
    sentences = [s for d in documents for s in d["content"].split(". ")]
    company = rng.choice(FILLER_COMPANIES)
    picked = rng.sample(sentences, 7)
    text = ". ".join(s.rstrip(".") for s in picked).replace("Pulse", company) + "."
    return {"doc_id": f"filler-{number}", "title": f"{company} handbook section {number}", "content": text}


def fill_to(chunks: int, documents: list[dict]) -> None:
    rng, number, added = random.Random(13), 0, 0
    started = time.perf_counter()
    while KbChunk.objects.count() < chunks:
        number += 1
        document_upsert(**filler(documents, number, rng))
        added = KbChunk.objects.count()
    seconds = time.perf_counter() - started
    print(
        f"\nindexing: {number} filler documents, {added} passages now, {seconds:.0f} s, "
        f"{(added - 0) / seconds if seconds else 0:.1f} passages/s (embedding and writes, one process)"
    )


def ask_latency(questions: list[dict]) -> None:
    kb_ask(question="warm up the model", asked_by="bench", via="api")
    timings = []
    for _round in range(2):
        for item in questions:
            started = time.perf_counter()
            kb_ask(question=item["question"], asked_by="bench", via="api")
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p50, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95) - 1]
    verdict = "met" if p95 < TARGET_P95_MS else "NOT met"
    print(
        f"ask latency at {KbChunk.objects.count()} passages, {len(timings)} asks, no cache, no generative model: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p95 < {TARGET_P95_MS:.0f} ms: {verdict})"
    )


def worker_memory(tenant: Tenant, question: str, passages: int) -> None:
    """RSS of a real gunicorn worker (one worker, one thread) before and after its first question."""
    _key, secret = api_key_create(tenant=tenant, name="bench", scope=ApiKey.Scope.READ)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).parent.parent,
    )
    try:
        wait_until_serving(port)
        worker = worker_pid(server.pid)
        before = rss_mb(worker)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/kb/ask/",
            data=json.dumps({"question": question}).encode(),
            method="POST",
            headers={
                "Host": f"{SLUG}.{settings.PULSE_BASE_DOMAIN}",
                "Authorization": f"Token {secret}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            json.load(response)
        print(
            f"\nweb worker RSS: {before:.0f} MB before its first question, {rss_mb(worker):.0f} MB after "
            f"(model loaded, {passages} passages' matrix cached)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("gunicorn started no worker")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def remove() -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
    Tenant.objects.filter(schema_name=SLUG).delete()


if __name__ == "__main__":
    main()
