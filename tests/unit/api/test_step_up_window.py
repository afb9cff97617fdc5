"""Key and provider-key operations of owners and admins signed in as people need a second factor
shown recently (issue 12: "a fresh confirmation for key and provider-key operations")."""

from __future__ import annotations

import time

import pytest

from libs.contracts.messages import AdminPrincipal
from services.api.problems import Problem
from services.api.security import require


def _person(role: str, *, mfa_age_s: float | None) -> AdminPrincipal:
    shown = 0 if mfa_age_s is None else int(time.time() - mfa_age_s)
    return AdminPrincipal(org_id="org1", token_id="", role=role, user_id="usr1", session_id="ses_1",
                          mfa=mfa_age_s is not None, mfa_at=shown)  # fmt: skip


@pytest.mark.parametrize("role", ["owner", "admin"])
@pytest.mark.parametrize("mfa_age_s", [None, 16 * 60])
def test_an_owner_or_admin_needs_a_recent_second_factor_for_key_operations(role: str, mfa_age_s: float | None) -> None:
    with pytest.raises(Problem) as refused:
        require(_person(role, mfa_age_s=mfa_age_s), "developer", fresh=True)
    assert refused.value.status == 403
    assert refused.value.kind == "second-factor-required"


def test_a_recent_second_factor_or_a_token_or_a_developer_passes() -> None:
    require(_person("owner", mfa_age_s=60), "developer", fresh=True)
    require(_person("developer", mfa_age_s=None), "developer", fresh=True)  # developers need no second factor
    require(AdminPrincipal(org_id="org1", token_id="tok_1", role="owner"), "admin", fresh=True)  # a management token
    require(_person("owner", mfa_age_s=16 * 60), "admin")  # other admin actions: any second factor of this session
