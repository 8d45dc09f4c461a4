"""The optional generative model: any server speaking OpenAI's chat-completions protocol, asked
to answer from the numbered passages only and to cite them as [n]. No Django here."""

import json
import re
import urllib.request
from dataclasses import dataclass

NOT_FOUND = "NOT_IN_PASSAGES"
INSTRUCTIONS = (
    "You answer questions for a customer-success team using ONLY the numbered passages given. "
    "Cite every statement with the passage number in square brackets, like [2]. "
    f"If the passages do not contain the answer, reply exactly {NOT_FOUND} and nothing else. "
    "Never use outside knowledge. Answer in at most four sentences."
)


@dataclass(frozen=True)
class ChatModel:
    base_url: str
    api_key: str
    model: str
    timeout: float


class ModelFailed(Exception):
    """The model could not be reached or answered something unusable; the caller falls back."""


def model_answer(chat: ChatModel, question: str, passages: list[tuple[int, str]]) -> str | None:
    """The model's answer citing passages by number; None when it says they do not answer."""
    numbered = "\n\n".join(f"[{ref}] {text}" for ref, text in passages)
    body = {
        "model": chat.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"Passages:\n\n{numbered}\n\nQuestion: {question}"},
        ],
    }
    text = _complete(chat, body).strip()
    if text == NOT_FOUND or not text:
        return None
    cited = {int(ref) for ref in re.findall(r"\[(\d+)\]", text)}
    if not cited or not cited <= {ref for ref, _text in passages}:
        raise ModelFailed("the model's answer cites no given passage")
    return text


def _complete(chat: ChatModel, body: dict) -> str:
    request = urllib.request.Request(
        chat.base_url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {chat.api_key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=chat.timeout) as response:  # the operator's URL
            reply = json.load(response)
        return reply["choices"][0]["message"]["content"] or ""
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ModelFailed(str(error)) from error
