"""``python -m services.auth``."""

from libs.svc import runner
from services.auth.app import run

runner.main("auth", run)
