"""The demo tenant's knowledge base: a handful of customer-success documents shipped as files."""

from pathlib import Path

from kpis.knowledge.services import document_upsert
from kpis.knowledge.text import doc_id_from_name, markdown_title_and_text

DEMO_DOCUMENTS = Path(__file__).parent / "demo_documents"


def demo_documents_load() -> int:
    """Index the shipped documents into the current tenant; safe to run again (unchanged)."""
    files = sorted(DEMO_DOCUMENTS.glob("*.md"))
    for path in files:
        title, text = markdown_title_and_text(path.read_text(encoding="utf-8"))
        document_upsert(
            doc_id=doc_id_from_name(path.name),
            title=title,
            content=text,
            source_name=path.name,
            created_by="demo",
        )
    return len(files)
