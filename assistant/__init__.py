"""The assistant: query understanding, hybrid retrieval, grounded answers, sessions, API, CLI."""
