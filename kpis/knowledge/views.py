"""The portal's Knowledge page: ask, documents (upload, add, read, delete), recent questions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from kpis.knowledge.forms import AskForm, DocumentForm
from kpis.knowledge.selectors import documents_with_counts, queries_recent
from kpis.knowledge.services import document_delete, document_upsert, kb_ask
from kpis.models import KbDocument, KbQuery
from users.decorators import editor_required


@login_required
@require_http_methods(["GET", "POST"])
def knowledge(request):
    form = AskForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = kb_ask(
                question=form.cleaned_data["question"],
                asked_by=f"user:{request.user.username}",
                via=KbQuery.Via.PORTAL,
            )
        except ValidationError as error:
            form.add_error("question", error.message_dict.get("question", error.messages))
    context = {
        "form": form,
        "result": _with_highlights(result) if result else None,
        "documents": documents_with_counts(),
        "questions": queries_recent()[:10],
        "document_form": DocumentForm(),
    }
    return render(request, "kpis/knowledge.html", context)


def _with_highlights(result: dict) -> dict:
    """Each source's passage as segments, the sentences the answer quotes marked."""
    for source in result["sources"]:
        source["segments"] = _segments(source["passage"], source.get("highlights", []))
    return result


def _segments(passage: str, highlights: list[str]) -> list[tuple[str, bool]]:
    segments, rest = [], passage
    for sentence in highlights:
        before, found, after = rest.partition(sentence)
        if not found:
            continue
        segments += [(before, False), (sentence, True)]
        rest = after
    return [segment for segment in [*segments, (rest, False)] if segment[0]]


@login_required
def kb_document(request, doc_id: str):
    document = get_object_or_404(KbDocument, doc_id=doc_id)
    return render(request, "kpis/kb_document.html", {"document": document, "passages": document.chunks.all()})


@editor_required
@require_POST
def kb_document_add(request):
    form = DocumentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Fill in the document id and its text.")
        return redirect("knowledge")
    try:
        written = document_upsert(**form.cleaned_data, created_by=request.user.username)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("knowledge")
    messages.success(request, f"“{written.document.title}”: {written.outcome}.")
    return redirect("kb_document", doc_id=written.document.doc_id)


@editor_required
@require_POST
def kb_document_delete(request, doc_id: str):
    document = get_object_or_404(KbDocument, doc_id=doc_id)
    document_delete(document=document)
    messages.success(request, f"Deleted “{document.title}” and its passages from the index.")
    return redirect("knowledge")


@login_required
def kb_queries(request):
    page = Paginator(queries_recent(), 50).get_page(request.GET.get("page"))
    return render(request, "kpis/kb_queries.html", {"page": page})
