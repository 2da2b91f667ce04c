"""Stable pseudonyms for demo users (and later, data-science exports).

The same person always gets the same pseudonym, so a demo still tells a coherent story, but
nothing about the real person can be read back without the deployment's secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

# Personal fields whose anonymized form is a pseudonym; every other personal field is hidden.
_PSEUDONYM_FIELDS = {"email", "firstName", "lastName", "uid", "idTag", "plate"}


def pseudonym(secret: str, kind: str, key: uuid.UUID | str) -> str:
    digest = hmac.new(secret.encode(), f"{kind}:{key}".encode(), hashlib.sha256).hexdigest()
    return digest[:8].upper()


def anonymized_value(secret: str, field: str, owner_id: Any) -> Any:
    if field not in _PSEUDONYM_FIELDS or owner_id is None:
        return None
    kind = {"email": "person", "firstName": "person", "lastName": "person", "idTag": "uid"}.get(
        field, field
    )
    tag = pseudonym(secret, kind, owner_id)
    return {
        "email": f"person-{tag.lower()}@anonymized.invalid",
        "firstName": "Person",
        "lastName": tag,
        "uid": f"ANON{tag}",
        # A session's badge: the same pseudonym as the owner's card uid.
        "idTag": f"ANON{tag}",
        "plate": f"ANON-{tag[:6]}",
    }[field]
