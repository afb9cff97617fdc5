"""Management API resources."""
