"""The API's layout: shared dependencies in one module, one router per resource, no import circle, every
earlier URL still served."""
from __future__ import annotations

import importlib
import subprocess
import sys

from conftest import REPO

RESOURCES = ["chat", "documents", "feedback", "drafts", "handover", "requests", "staff", "admin", "openai",
             "health", "pages"]


def test_one_router_per_resource_and_no_router_imports_the_app():
    for name in RESOURCES:
        mod = importlib.import_module(f"assistant.api.routes.{name}")
        assert mod.router.routes, name
    code = ("import sys; import assistant.api.routes.openai, assistant.api.routes.chat, assistant.api.deps; "
            "assert 'assistant.api.app' not in sys.modules, 'a router imports the app'; "
            "import assistant.api.openai_compat, assistant.drafts.router; "
            "assert 'assistant.api.app' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_every_earlier_url_is_still_routed(tmp_path):
    from assistant.api.app import create_app
    from conftest import make_settings

    app = create_app(make_settings(tmp_path))
    paths = set(app.openapi()["paths"])
    earlier = {"/api/chat", "/api/chat/stream", "/api/sessions/{session_id}", "/api/feedback", "/api/documents",
               "/api/documents/{doc_id}", "/api/provisions/{pid}", "/healthz", "/readyz", "/api/admin/feedback",
               "/api/admin/reindex", "/v1/models", "/v1/chat/completions", "/api/drafts"}
    assert earlier <= paths, earlier - paths
    assert {"/api/handover", "/api/handover/{code}", "/api/requests", "/api/requests/{rid}", "/api/staff/login",
            "/api/staff/logout", "/api/requests/export.csv"} <= paths
    # The old import paths keep working.
    from assistant.api.app import get_assistant, rate_limit, require_admin  # noqa: F401
    from assistant.api.openai_compat import answer_messages, router  # noqa: F401
    from assistant.drafts.router import MEDIA, router as drafts  # noqa: F401
