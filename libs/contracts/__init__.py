"""Message contracts: every bus subject and every message, in one place."""
