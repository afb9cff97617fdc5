"""Adversarial review of the request walker (issue 10, item 4): image ``data:`` URLs."""

from __future__ import annotations

import pytest

from services.edge import textparts
from services.edge.wire.openai import ChatRequest

SECRET = "sk-proj-" + "A1b2C3d4" * 5


def _body(url: str) -> dict[str, object]:
    part = {"type": "image_url", "image_url": {"url": url}}
    return {"model": "m", "messages": [{"role": "user", "content": [part]}]}


@pytest.mark.parametrize("url", [f"data:image/png,{SECRET}", f"data:text/plain;charset=utf-8,{SECRET}",
                                 f"data:image/png;base64;x=1,{SECRET}"])  # fmt: skip
def test_the_text_payload_of_a_non_base64_data_url_is_scanned(url: str) -> None:
    """Was a hole: only the header was read, as if the payload were picture bytes."""
    found = textparts.collect(_body(url), ChatRequest)
    assert any(SECRET in text for text in found.texts)


@pytest.mark.parametrize("url", ["DATA:image/png;base64,iVBORw0KGgo=", "Data:image/png;BASE64,iVBORw0KGgo="])
def test_a_data_url_is_an_image_whatever_the_case_of_its_scheme(url: str) -> None:
    """Was a hole: ``DATA:`` (schemes are case-insensitive) was read as a link, not as image
    bytes, so an operator's refusal of images (BASTION_UNREADABLE_PARTS_ALLOWED) did not apply."""
    found = textparts.collect(_body(url), ChatRequest)
    assert found.unreadable == [(("messages", 0, "content", 0, "image_url", "url"), "image_url")]
