"""The knowledge base's plain modules: tokenizer, text to passages, formats, ranking, intents."""

import numpy as np

from kpis.knowledge import embedding, ranking
from kpis.knowledge.intents import DataQuestion, data_question
from kpis.knowledge.text import (
    content_hash,
    doc_id_from_name,
    html_title_and_text,
    markdown_title_and_text,
    passages,
    sentences,
)
from kpis.knowledge.wordpiece import tokenizer


def test_the_tokenizer_gives_the_ids_of_the_models_own_tokenizer():
    """Ids taken once from Hugging Face `tokenizers` with the model's tokenizer.json."""
    assert tokenizer().encode("TechCorp's renewal is due in 90 days!", 256) == [
        101,
        6627,
        24586,
        1005,
        1055,
        14524,
        2003,
        2349,
        1999,
        3938,
        2420,
        999,
        102,
    ]
    assert tokenizer().encode("Café naïve — “quotes” 日本 😀 $1,200.50", 256) == [
        101,
        7668,
        15743,
        1517,
        1523,
        16614,
        1524,
        1864,
        1876,
        100,
        1002,
        1015,
        1010,
        3263,
        1012,
        2753,
        102,
    ]


def test_the_tokenizer_cuts_long_text_to_the_models_window():
    ids = tokenizer().encode("word " * 1000, 256)

    assert len(ids) == 256 and ids[0] == 101 and ids[-1] == 102


def test_embeddings_are_unit_vectors_and_paraphrases_land_closer_than_other_topics():
    question, paraphrase, other = embedding.embed(
        [
            "How much notice must a customer give before cancelling?",
            "Customers have to tell us in writing 60 days before the end of the term if they want to leave.",
            "The office kitchen is cleaned every Friday afternoon.",
        ]
    )

    assert np.allclose(np.linalg.norm([question, paraphrase, other], axis=1), 1.0, atol=1e-5)
    assert question @ paraphrase > question @ other + 0.2


def test_embeddings_survive_storage_as_bytes():
    vectors = embedding.embed(["one passage", "another passage"])

    assert np.array_equal(embedding.from_bytes([embedding.to_bytes(v) for v in vectors]), vectors)


def test_passages_group_a_few_sentences_in_reading_order():
    text = " ".join(f"Sentence number {n} says something short." for n in range(1, 11))

    found = passages(text)

    assert [p.position for p in found] == [0, 1, 2]
    assert found[0].text.startswith("Sentence number 1 ") and "number 4 " in found[0].text
    assert "number 5 " in found[1].text


def test_sentences_keep_abbreviations_and_split_list_items():
    text = "Discounts need approval, e.g. from a VP. Then they apply.\n- First item\n- Second item"

    assert sentences(text) == [
        "Discounts need approval, e.g. from a VP.",
        "Then they apply.",
        "First item",
        "Second item",
    ]


def test_markdown_and_html_become_plain_text_with_their_titles():
    title, text = markdown_title_and_text("# Renewal policy\n\nRenew **yearly**, see [terms](http://x).\n")
    assert title == "Renewal policy"
    assert "Renew yearly, see terms." in text and "http" not in text and "*" not in text

    title, text = html_title_and_text(
        "<html><head><title>Escalations</title><style>p{}</style></head>"
        "<body><p>P1 goes to the duty manager.</p><script>alert(1)</script></body></html>"
    )
    assert title == "Escalations"
    assert text == "P1 goes to the duty manager."


def test_the_content_hash_ignores_whitespace_only():
    assert content_hash("T", "a  b\n c") == content_hash("T ", "a b c")
    assert content_hash("T", "a b c") != content_hash("T", "a b d")


def test_a_file_name_becomes_a_document_id():
    assert doc_id_from_name("docs/Renewal Policy (2026).md") == "renewal-policy-2026"
    assert doc_id_from_name("???.txt") == "document"


def test_fusion_rewards_agreement_between_rankings():
    fused = [item for item, _score in ranking.fuse([1, 2, 3], [3, 4, 1])]

    assert fused[:2] == [1, 3]  # in both lists
    assert set(fused) == {1, 2, 3, 4}


def test_the_extractive_answer_takes_the_sentence_sharing_the_questions_words():
    evidence = [
        ranking.Evidence(1, "Our office is in Lisbon. Customers must give 60 days notice to cancel. Thanks."),
        ranking.Evidence(2, "Refunds are pro-rated. Cancellation fees do not apply."),
    ]

    chosen = ranking.extract_answer("How many days notice to cancel?", evidence)

    assert chosen[0] == (1, "Customers must give 60 days notice to cancel.")
    assert [ref for ref, _sentence in chosen] == [1, 2]


def test_weak_evidence_is_not_an_answer():
    assert not ranking.is_answerable(ranking.MIN_SIMILARITY - 0.01)
    assert ranking.is_answerable(ranking.MIN_SIMILARITY)


def test_questions_about_the_tenants_data_are_recognised():
    assert data_question("Which accounts renew in the next 90 days and are at risk?") == DataQuestion(
        "renewals", days=90, bands=("risk", "critical")
    )
    assert data_question("Which customers are up for renewal within 2 months?") == DataQuestion(
        "renewals", days=60
    )
    assert data_question("Which accounts are critical?") == DataQuestion("band", bands=("critical",))
    assert data_question("What is TechCorp Solutions' health and why?") == DataQuestion("account_health")
    assert data_question("How much notice must a customer give to cancel?") is None


def test_the_hybrid_ranking_adds_a_full_text_bonus_to_the_cosine():
    similarities = {1: 0.50, 2: 0.45, 3: 0.20}

    ranked = [item for item, _score in ranking.hybrid(similarities, lexical=[2])]

    assert ranked == [2, 1, 3]  # rank 1 in full text lifts 2 by LEXICAL_BONUS over 1
