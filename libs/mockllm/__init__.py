"""A mock upstream LLM speaking OpenAI's wire format (JSON and SSE), for the local stack and tests."""
