"""The knowledge base over the API: documents, asking, and the query log."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.response import Response

from api.base import TenantApiView, TenantViewSet
from kpis.knowledge.selectors import documents_with_counts, queries_recent
from kpis.knowledge.services import (
    MAX_QUESTION_CHARS,
    DocumentLimitReached,
    document_delete,
    document_upsert,
    kb_ask,
)
from kpis.models import KbDocument, KbQuery


class DocumentLimitExceeded(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "document_limit"


class DocumentSerializer(serializers.ModelSerializer):
    passages = serializers.IntegerField(read_only=True, help_text="How many passages it is indexed as.")

    class Meta:
        model = KbDocument
        fields = [
            "doc_id",
            "title",
            "content",
            "source_name",
            "content_hash",
            "passages",
            "created_by",
            "created_at",
            "updated_at",
        ]


class DocumentListSerializer(DocumentSerializer):
    class Meta(DocumentSerializer.Meta):
        fields = [name for name in DocumentSerializer.Meta.fields if name != "content"]


class DocumentInputSerializer(serializers.Serializer):
    doc_id = serializers.CharField(
        max_length=100, help_text="Unique in the workspace: letters, digits, - and _."
    )
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    content = serializers.CharField(trim_whitespace=False, help_text="The document's text.")


class DocumentWrittenSerializer(DocumentSerializer):
    outcome = serializers.ChoiceField(choices=["created", "updated", "unchanged"], read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "outcome"]


def _upsert(request, doc_id: str, data: dict) -> Response:
    try:
        written = document_upsert(
            doc_id=doc_id,
            title=data.get("title", ""),
            content=data["content"],
            created_by=f"api:{request.auth.prefix}",
        )
    except DocumentLimitReached as refused:
        raise DocumentLimitExceeded(" ".join(refused.messages)) from refused
    except DjangoValidationError as error:
        raise exceptions.ValidationError(error.message_dict) from error
    document = documents_with_counts().get(pk=written.document.pk)
    document.outcome = written.outcome
    code = status.HTTP_201_CREATED if written.outcome == "created" else status.HTTP_200_OK
    return Response(DocumentWrittenSerializer(document).data, status=code)


@extend_schema(tags=["knowledge base"])
class KbDocumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    lookup_url_kwarg = "pk"

    def get_queryset(self):
        return documents_with_counts()

    def get_serializer_class(self):
        return DocumentListSerializer if self.action == "list" else DocumentSerializer

    def get_object(self):
        return get_object_or_404(self.get_queryset(), doc_id=self.kwargs["pk"])

    @extend_schema(summary="Documents of the knowledge base (without their text)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A document with its text")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Add a document, or replace the one with this doc_id; the same text changes nothing",
        request=DocumentInputSerializer,
        responses={201: DocumentWrittenSerializer, 200: DocumentWrittenSerializer},
        examples=[
            OpenApiExample(
                "A policy",
                request_only=True,
                value={
                    "doc_id": "renewal-policy",
                    "title": "Renewal policy",
                    "content": "Customers give written notice 60 days before the end of term.",
                },
            )
        ],
    )
    def create(self, request):
        form = DocumentInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return _upsert(request, form.validated_data["doc_id"], form.validated_data)

    @extend_schema(
        summary="Replace a document's title and text; the same text changes nothing",
        request=DocumentInputSerializer,
        responses={200: DocumentWrittenSerializer},
    )
    def update(self, request, pk=None):
        document = self.get_object()  # 404 for an id this workspace does not have: POST creates
        form = DocumentInputSerializer(data={**dict(request.data.items()), "doc_id": document.doc_id})
        form.is_valid(raise_exception=True)
        return _upsert(request, document.doc_id, form.validated_data)

    @extend_schema(summary="Delete a document and its passages from the index", responses={204: None})
    def destroy(self, request, pk=None):
        document_delete(document=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=MAX_QUESTION_CHARS)


class SourceSerializer(serializers.Serializer):
    ref = serializers.IntegerField(help_text="The [n] the answer cites it by.")
    # A plain string (not an enum) keeps the schema free of a second enum named "kind".
    kind = serializers.CharField(help_text="document or account")
    doc_id = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    passage = serializers.CharField()
    score = serializers.FloatField(allow_null=True, help_text="Similarity to the question, or health score.")
    url = serializers.CharField(help_text="The portal page of the document passage or the account.")


class AnswerSerializer(serializers.Serializer):
    answered = serializers.BooleanField()
    answer = serializers.CharField()
    sources = SourceSerializer(many=True)
    cached = serializers.BooleanField()
    latency_ms = serializers.FloatField()


class KbAskApi(TenantApiView):
    """Asking reads: any key may ask, read-only keys included (the question is logged)."""

    posts_are_reads = True

    @extend_schema(
        tags=["knowledge base"],
        summary="Ask a question; answered from the documents and the workspace's data, with sources",
        request=AskSerializer,
        responses={200: AnswerSerializer},
    )
    def post(self, request):
        form = AskSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            result = kb_ask(
                question=form.validated_data["question"],
                asked_by=f"api:{request.auth.prefix}",
                via=KbQuery.Via.API,
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        return Response(result)


class QuerySerializer(serializers.ModelSerializer):
    class Meta:
        model = KbQuery
        fields = [
            "id",
            "question",
            "answer",
            "answered",
            "sources",
            "latency_ms",
            "asked_by",
            "via",
            "cached",
            "created_at",
        ]


@extend_schema(tags=["knowledge base"])
class KbQueryViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = QuerySerializer

    def get_queryset(self):
        return queries_recent()

    @extend_schema(summary="Questions asked, newest first, with answers, sources, latency and who asked")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
