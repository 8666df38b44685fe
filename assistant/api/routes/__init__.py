"""One router per resource; `assistant.api.app.create_app` includes them all."""
