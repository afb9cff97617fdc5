"""Encrypted backups of a Bastion stack (``bastion backup create|restore``): docs/operations.md "Backups"."""
