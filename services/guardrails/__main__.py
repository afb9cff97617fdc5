"""``python -m services.guardrails``."""

from libs.svc import runner
from services.guardrails.app import run

runner.main("guardrails", run)
