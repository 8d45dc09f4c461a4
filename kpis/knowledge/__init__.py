"""The knowledge base: documents, their index, and answers with cited passages.

Plain modules without Django (text, wordpiece, embedding, ranking, intents) do the text work;
services.py writes, selectors.py reads."""
