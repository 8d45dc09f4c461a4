from django import forms

from kpis.knowledge.services import MAX_QUESTION_CHARS


class AskForm(forms.Form):
    question = forms.CharField(
        max_length=MAX_QUESTION_CHARS,
        label="Ask the knowledge base",
        widget=forms.TextInput(attrs={"placeholder": "e.g. How much notice must a customer give to cancel?"}),
        help_text="Answered from your documents, or from your accounts' data for questions about them.",
    )


class DocumentForm(forms.Form):
    doc_id = forms.CharField(max_length=100, label="Document id", help_text="e.g. renewal-policy")
    title = forms.CharField(max_length=300, required=False)
    content = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Text")
