"""Edge HTTP routes."""
