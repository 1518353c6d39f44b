"""CSRF protection for the acknowledgement form: a nonce cookie bound to the link by HMAC.

Opening the page sets a random nonce in a cookie (HttpOnly, SameSite=Strict, scoped to the
link's own path) and puts ``HMAC(key, nonce + link token)`` in the form. A POST is believed
only when the form's value matches the cookie's nonce for that very link, compared in constant
time: another site can neither read the cookie nor make the browser send it (SameSite=Strict),
and a form value lifted from one link is worthless on another.
See https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html
("Signed Double-Submit Cookie").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["COOKIE", "FIELD", "form_value", "new_nonce", "valid"]

COOKIE = "careline_ack_csrf"
FIELD = "csrf"
DOMAIN = b"careline/ack-csrf/v1"
MAX_NONCE_LENGTH = 64


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def form_value(secret: str, nonce: str, link_token: str) -> str:
    key = hmac.new(secret.encode("utf-8"), DOMAIN, hashlib.sha256).digest()
    message = f"{nonce}\n{link_token}".encode("utf-8", "surrogateescape")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def valid(secret: str, nonce: str | None, link_token: str, given: str | None) -> bool:
    if not nonce or not given or len(nonce) > MAX_NONCE_LENGTH:
        return False
    expected = form_value(secret, nonce, link_token)
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))
