"""Accounts: register, log in, refresh, who am I, API keys; beta invites for administrators."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pwdlib.exceptions import UnknownHashError

from backgrid.service import schemas
from backgrid.service.api.errors import ApiError
from backgrid.service.deps import AdminDep, CallerDep, SessionDep, SettingsDep, anonymous_limit
from backgrid.service.security import (
    KEY_PREFIX,
    TokenError,
    api_key,
    hash_api_key,
    hash_password,
    make_token,
    read_token,
    verify_password,
)
from backgrid.service.settings import Settings
from backgrid.service.store import repository

router = APIRouter(prefix="/auth", tags=["auth"])
invites = APIRouter(prefix="/invites", tags=["admin"])

Anonymous = Annotated[None, Depends(anonymous_limit)]


def _tokens(user_id: str, settings: Settings) -> schemas.TokensOut:
    key = settings.signing_key()
    access = settings.access_token_minutes * 60
    return schemas.TokensOut(
        access_token=make_token(user_id, "access", key=key, seconds=access),
        refresh_token=make_token(user_id, "refresh", key=key, seconds=settings.refresh_token_days * 86_400),
        expires_in=access)


#: a hash no password matches, checked for an unknown e-mail
_NOBODY = hash_password(secrets.token_urlsafe(32))


def _password_matches(password: str, hashed: str) -> bool:
    try:
        return verify_password(password, hashed)
    except UnknownHashError:  # "!" (the local user's) is no hash on purpose: no password logs in as them
        return False


@router.post("/register", status_code=201, response_model=schemas.UserOut)
def register(body: schemas.RegisterIn, session: SessionDep, settings: SettingsDep, _: Anonymous) -> object:
    """Make an account (by invite code unless registration is open)."""
    if settings.registration == "closed":
        raise ApiError(403, "registration_closed", "this server does not take new accounts")
    if settings.registration == "invite" and not body.invite:
        raise ApiError(403, "invite_required", "registration is by invite: give an invite code",
                       [{"path": "body.invite", "message": "an invite code is required"}])
    if repository.user_by_email(session, body.email) is not None:
        raise ApiError(409, "email_taken", "an account with this e-mail exists; log in instead",
                       [{"path": "body.email", "message": "already registered"}])
    user = repository.create_user(session, email=body.email, password_hash=hash_password(body.password))
    if settings.registration == "invite" and not repository.use_invite(session, str(body.invite), user.id):
        raise ApiError(403, "invite_invalid", "the invite code is unknown or used",
                       [{"path": "body.invite", "message": "unknown or already used"}])
    repository.add_event(session, user_id=user.id, name="signed_up", properties={})
    return user


@router.post("/login", response_model=schemas.TokensOut)
def login(body: schemas.LoginIn, session: SessionDep, settings: SettingsDep, _: Anonymous) -> object:
    """Exchange an e-mail and password for an access token (15 min) and a refresh token."""
    user = repository.user_by_email(session, body.email)
    # an unknown e-mail costs the same argon2 check as a known one: the answer's time tells nothing
    if not _password_matches(body.password, _NOBODY if user is None else user.password_hash) or user is None:
        raise ApiError(401, "bad_credentials", "the e-mail or the password is wrong")
    return _tokens(user.id, settings)


@router.post("/refresh", response_model=schemas.TokensOut)
def refresh(body: schemas.RefreshIn, session: SessionDep, settings: SettingsDep, _: Anonymous) -> object:
    """A new pair of tokens for a valid refresh token."""
    try:
        user_id = read_token(body.refresh_token, "refresh", key=settings.signing_key())
    except TokenError as exc:
        raise ApiError(401, "not_authenticated", str(exc)) from None
    if repository.user(session, user_id) is None:
        raise ApiError(401, "not_authenticated", "the token's user no longer exists")
    return _tokens(user_id, settings)


@router.get("/me", response_model=schemas.UserOut)
def me(caller: CallerDep) -> object:
    """The caller's account."""
    return caller


@router.post("/keys", status_code=201, response_model=schemas.ApiKeyCreated)
def create_key(body: schemas.ApiKeyIn, caller: CallerDep, session: SessionDep) -> object:
    """Make an API key for scripts (``X-API-Key``); the key is in this answer only."""
    key = api_key()
    row = repository.create_api_key(session, user_id=caller.id, name=body.name,
                                    prefix=key[: len(KEY_PREFIX) + 6], digest=hash_api_key(key))
    # the row's own values: a dump of ApiKeyOut would turn its times into text that ApiKeyCreated refuses
    return schemas.ApiKeyCreated(**{name: getattr(row, name) for name in schemas.ApiKeyOut.model_fields}, key=key)


@router.get("/keys", response_model=list[schemas.ApiKeyOut])
def list_keys(caller: CallerDep, session: SessionDep) -> object:
    """The caller's API keys (without their secrets)."""
    return repository.list_api_keys(session, caller.id)


@router.delete("/keys/{key_id}", status_code=204)
def delete_key(key_id: str, caller: CallerDep, session: SessionDep) -> Response:
    """Revoke one of the caller's API keys."""
    if not repository.delete_api_key(session, caller.id, key_id):
        raise ApiError(404, "not_found", f"no API key {key_id}")
    return Response(status_code=204)


@invites.post("", status_code=201, response_model=schemas.InviteOut)
def create_invite(admin: AdminDep, session: SessionDep) -> object:
    """Make a beta invite code (administrators)."""
    return repository.create_invite(session, created_by=admin.id, code=secrets.token_hex(8))
