"""HTTP API: chat (JSON, SSE, OpenAI-compatible), documents and provisions, feedback, admin, widget pages."""
