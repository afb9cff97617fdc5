"""Provider secret patterns and placeholder heuristics (data only, used by ``secrets``)."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Final

__all__ = ["PROVIDER_RULES", "RULE_PREFIXES", "entropy", "looks_placeholder"]

# (type, pattern, group holding the secret, alias-as-API_KEY)
PROVIDER_RULES: Final[tuple[tuple[str, re.Pattern[str], int, bool], ...]] = (
    (
        "ANTHROPIC_KEY",
        re.compile(r"(?<![\w-])(sk-ant-(?:api|admin|sid|oat)\d{2}-[A-Za-z0-9_-]{20,})"),
        1,
        True,
    ),
    (
        "OPENAI_KEY",
        re.compile(
            r"(?<![\w-])(sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}"
            r"|sk-[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}"
            r"|sk-[A-Za-z0-9]{40,64})(?![\w-])"
        ),
        1,
        True,
    ),
    ("GOOGLE_API_KEY", re.compile(r"(?<![\w-])(AIza[0-9A-Za-z_-]{35})(?![\w-])"), 1, True),
    ("AWS_ACCESS_KEY", re.compile(r"(?<![A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])"), 1, True),
    (
        "GITHUB_TOKEN",
        re.compile(r"(?<![\w-])((?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})(?![\w-])"),
        1,
        True,
    ),
    (
        "STRIPE_KEY",
        re.compile(r"(?<![\w-])((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{24,})(?![\w-])"),
        1,
        True,
    ),
    (
        "SLACK_TOKEN",
        re.compile(
            r"(?<![\w-])(xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,}"
            r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,})"
        ),
        1,
        True,
    ),
    (
        "PRIVATE_KEY",
        re.compile(
            r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\n:-]{40,}))",
            re.DOTALL,
        ),
        1,
        False,
    ),
    (
        "JWT",
        re.compile(r"(?<![\w-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})(?![\w-])"),
        1,
        True,
    ),
    # providers without their own type -> GENERIC_SECRET (still an API key under the PII labels)
    (
        "GENERIC_SECRET",
        re.compile(
            r"(?<![\w-])("
            r"SG\.[A-Za-z0-9_-]{20,24}\.[A-Za-z0-9_-]{40,45}"  # SendGrid
            r"|hf_[A-Za-z0-9]{30,40}"  # Hugging Face
            r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
            r"|npm_[A-Za-z0-9]{36}"  # npm
            r"|pypi-AgE[A-Za-z0-9_-]{50,}"  # PyPI
            r"|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"  # Shopify
            r"|dop_v1_[a-f0-9]{64}"  # DigitalOcean
            r"|xai-[A-Za-z0-9]{40,}"  # xAI
            r"|gsk_[A-Za-z0-9]{40,}"  # Groq
            r"|pplx-[A-Za-z0-9]{40,}"  # Perplexity
            r"|r8_[A-Za-z0-9]{30,}"  # Replicate
            r"|lin_api_[A-Za-z0-9]{30,}"  # Linear
            r"|ntn_[A-Za-z0-9]{40,}"  # Notion
            r"|secret_[A-Za-z0-9]{43}"  # Notion (legacy)
            r"|PMAK-[a-f0-9]{24}-[a-f0-9]{34}"  # Postman
            r"|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}"  # Square
            r"|dapi[a-f0-9]{32}"  # Databricks
            r"|ATATT3[A-Za-z0-9_=-]{50,}"  # Atlassian
            r"|hvs\.[A-Za-z0-9_-]{24,}"  # HashiCorp Vault
            r"|dp\.pt\.[A-Za-z0-9]{40,}"  # Doppler
            r"|AGE-SECRET-KEY-1[0-9A-Z]{58}"  # age
            r"|key-[a-f0-9]{32}"  # Mailgun
            r"|\d{8,10}:AA[A-Za-z0-9_-]{33}"  # Telegram bot
            r")(?![\w-])"
        ),
        1,
        True,
    ),
)

# lowercase literal prefixes per rule index (the rule's own regex re-checks case)
RULE_PREFIXES: Final[tuple[tuple[str, ...], ...]] = (
    ("sk-ant-",),
    ("sk-",),
    ("aiza",),
    ("akia", "asia"),
    ("ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"),
    ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"),
    ("xox", "xapp-", "hooks.slack.com"),
    ("private key",),
    ("eyj",),
    (
        "sg.",
        "hf_",
        "glpat-",
        "npm_",
        "pypi-",
        "shpat_",
        "shpss_",
        "shpca_",
        "shppa_",
        "dop_v1_",
        "xai-",
        "gsk_",
        "pplx-",
        "r8_",
        "lin_api_",
        "ntn_",
        "secret_",
        "pmak-",
        "sq0atp-",
        "sq0csp-",
        "dapi",
        "atatt3",
        "hvs.",
        "dp.pt.",
        "age-secret-key-",
        "key-",
        ":aa",
    ),
)
_PLACEHOLDER_WORDS: Final = re.compile(
    r"example|sample|dummy|placeholder|changeme|change_me|your[_-]?|redacted|xxxx|\*\*\*|\.\.\.|…|"
    r"<[^>]*>|\{\{|\$\{|^\$[A-Z_]+$|%\(|insert|replace|fake|test123|password123?$|^passw(?:or)?d$|"
    r"^secret$|^token$|^none$|^null$|^true$|^false$|^undefined$|^todo$|^tbd$|^n/?a$|^hunter2$|^abc123$|^12345",
    re.IGNORECASE,
)


def entropy(s: str) -> float:
    n = len(s)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def looks_placeholder(value: str) -> bool:
    """Masked keys, templated values and low-variety strings like ``sk-xxxx`` or ``ghp_XXXXXXXX``."""
    if _PLACEHOLDER_WORDS.search(value):
        return True
    body = value.rsplit("_", maxsplit=1)[-1] if "_" in value[:12] else value
    if len(body) >= 8:
        most = Counter(body.lower()).most_common(1)[0][1]
        if most / len(body) > 0.5:
            return True
    return len(set(value)) < 5
