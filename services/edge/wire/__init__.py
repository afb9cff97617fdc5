"""Client wire formats as msgspec schemas: what the edge validates and what its guardrail walker
reads (every string field is text to scan unless its annotation says otherwise; see ``marks``)."""
