"""Dependency annotations for controllers (values come from our own code, so Litestar skips
re-validating them)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar.params import Dependency

from libs.contracts.messages import AdminPrincipal

Admin = Annotated[AdminPrincipal, Dependency(skip_validation=True)]
Db = Annotated[asyncpg.Pool, Dependency(skip_validation=True)]
