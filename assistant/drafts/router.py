"""Kept for imports from earlier versions: the drafts router lives in `assistant/api/routes/drafts.py`."""
from ..api.routes.drafts import MEDIA, DraftRequest, create_draft, router  # noqa: F401
