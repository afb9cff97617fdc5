"""``python -m services.audit``."""

from libs.svc import runner
from services.audit.app import run

runner.main("audit", run)
