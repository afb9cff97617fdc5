"""The one error a backup or restore raises for the operator: a plain sentence, never a secret."""


class BackupError(Exception):
    """Refused: the archive, the keys or the target are not what they must be."""
