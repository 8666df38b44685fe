"""Kept for imports from earlier versions: the OpenAI-compatible router lives in `routes/openai.py`."""
from .routes.openai import MODEL_ID, answer_messages, router  # noqa: F401
