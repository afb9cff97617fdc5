"""``python -m services.guardrails``."""

import libs.svc.natsimport  # noqa: F401  # first: nats-py without aiohttp
from libs.svc import runner
from services.guardrails.app import run

runner.main("guardrails", run)
