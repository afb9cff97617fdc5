"""A local OAuth 2.0 / OpenID Connect provider for development and tests (see ``app``)."""
