"""Passwords (argon2 through pwdlib), signed tokens (PyJWT, HS256) and API keys.

An access token lives ``access_token_minutes`` (15 by default) and a refresh token
``refresh_token_days``; each names its type, so that a refresh token cannot be used as an access token.
An API key is ``bg_`` followed by 40 random characters; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any, Literal

import jwt
from pwdlib import PasswordHash

from backgrid.errors import BackgridError

__all__ = ["TokenError", "api_key", "hash_api_key", "hash_password", "make_token", "read_token", "verify_password"]

_PASSWORDS = PasswordHash.recommended()
_ALGORITHM = "HS256"
KEY_PREFIX = "bg_"

TokenKind = Literal["access", "refresh"]


class TokenError(BackgridError, PermissionError):
    """A token that is malformed, expired, of the wrong kind or signed with another key."""


def hash_password(password: str) -> str:
    """The argon2 hash of ``password``."""
    return _PASSWORDS.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches ``hashed``."""
    return _PASSWORDS.verify(password, hashed)


def make_token(user_id: str, kind: TokenKind, *, key: str, seconds: float) -> str:
    """A signed token of ``kind`` for ``user_id`` that expires in ``seconds``."""
    issued = int(time.time())
    claims = {"sub": user_id, "typ": kind, "iat": issued, "exp": issued + int(seconds),
              "jti": secrets.token_hex(8)}  # two tokens made in one second still differ
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def read_token(token: str, kind: TokenKind, *, key: str) -> str:
    """The user id a valid token of ``kind`` names; :class:`TokenError` says what is wrong with it."""
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        msg = "the token has expired; log in again or use the refresh token"
        raise TokenError(msg) from None
    except jwt.InvalidTokenError as exc:
        msg = f"the token is not valid: {exc}"
        raise TokenError(msg) from None
    if claims.get("typ") != kind:
        msg = f"expected an {kind} token, found a {claims.get('typ')!r} token"
        raise TokenError(msg)
    return str(claims["sub"])


def api_key() -> str:
    """A new API key (shown to its owner once)."""
    return KEY_PREFIX + secrets.token_urlsafe(30)


def hash_api_key(key: str) -> str:
    """The SHA-256 an API key is looked up by (keys are random, so no salt is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()
