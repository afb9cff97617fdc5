"""``python -m services.vault``."""

from libs.svc import runner
from services.vault.app import run

runner.main("vault", run)
