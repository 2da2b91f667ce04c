"""The sanitiser: what may never enter a log row does not."""

from __future__ import annotations

import uuid

from backend.domain.system_logs import EMAIL_MASK, MAX_ITEMS, MAX_TEXT, sanitize, secret_key


def test_secret_keys_are_dropped_whatever_their_spelling() -> None:
    details = {
        "password": "hunter2",
        "newPassword": "hunter3",
        "access_token": "tok",
        "Authorization": "Basic abc",
        "client-secret": "s",
        "idTag": "AABBCCDD",
        "id_tag": "AABBCCDD",
        "uid": "04A1B2C3",
        "cardUid": "04A1B2C3",
        "api_key": "k",
        "cookie": "vev_session=x",
        "email": "ada@example.com",
        "action": "Authorize",
        "code": "FormationViolation",
        "user_id": "kept",
        "station_id": "kept",
    }
    assert sanitize(details) == {
        "action": "Authorize",
        "code": "FormationViolation",
        "user_id": "kept",
        "station_id": "kept",
    }


def test_nested_values_are_cleaned_too() -> None:
    details = {
        "error_details": {"token": "tok-123", "note": "write to ada.lovelace@example.com"},
        "list": [{"idToken": {"idToken": "X"}, "type": "ISO14443"}],
    }
    assert sanitize(details) == {
        "error_details": {"note": f"write to {EMAIL_MASK}"},
        "list": [{"type": "ISO14443"}],
    }


def test_long_text_and_long_lists_are_cut_and_depth_is_bounded() -> None:
    cleaned = sanitize({"text": "x" * 5000, "items": list(range(500))})
    assert len(cleaned["text"]) == MAX_TEXT and cleaned["text"].endswith("…")
    assert cleaned["items"] == list(range(MAX_ITEMS))
    deep = sanitize({"a": {"b": {"c": {"d": {"e": "too deep"}}}}})
    assert deep == {"a": {"b": {"c": {"d": "…"}}}}


def test_other_values_become_text_and_control_characters_go() -> None:
    some_id = uuid.uuid4()
    assert sanitize({"id": some_id, "t": "a\nb\x00c"}) == {"id": str(some_id), "t": "a b c"}
    assert sanitize(None) is None and sanitize(3) == 3 and sanitize(True) is True


def test_secret_key_names() -> None:
    for name in ("password", "PASSWORD_HASH", "x-auth", "registrationToken", "rfid_uid"):
        assert secret_key(name), name
    for name in ("action", "code", "path", "user_id", "station_id", "sessions", "failures"):
        assert not secret_key(name), name
