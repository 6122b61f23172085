"""How the NetSuite sandbox authenticates a call, as NetSuite does: token-based authentication
(an `Authorization: OAuth realm="<account>", oauth_consumer_key=..., oauth_token=...,
oauth_signature_method="HMAC-SHA256", ...` header whose signature is checked over the OAuth base
string of the request, RFC 5849 section 3.4, by oauthlib's own verifier; a nonce used once
only; a timestamp within the window; the realm the account id) or an OAuth 2.0 bearer token
from the client credentials grant (`POST /services/rest/auth/oauth2/v1/token`: the JWT
assertion's PS256 signature checked with the certificate's public key, its `kid`, `iss`, `aud`
and `exp`; tokens of 60 minutes). A refusal is NetSuite's 401 `INVALID_LOGIN` body."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from fastapi import Request
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature, utils

from connectors.sandbox_kit import VendorError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SIGNATURE_METHOD = "HMAC-SHA256"


def error(status: int, title: str, detail: str, code: str, **extra: Any) -> VendorError:
    """NetSuite's REST error body."""
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code, **extra}
    return VendorError(
        status,
        {
            "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.{status // 100 + 1}.{status % 100 + 1}",
            "title": title,
            "status": status,
            "o:errorDetails": [entry],
        },
    )


def invalid_login(why: str) -> VendorError:
    """401 INVALID_LOGIN; the sandbox says why in the detail (NetSuite logs it in its login audit
    trail instead)."""
    return error(401, "Unauthorized", f"Invalid login attempt. ({why})", "INVALID_LOGIN")


@dataclass(frozen=True)
class TbaCredentials:
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


@dataclass(frozen=True)
class M2mCredentials:
    client_id: str
    certificate_id: str
    public_key: Any


@dataclass
class Gatekeeper:
    account_id: str
    tba: TbaCredentials | None
    m2m: M2mCredentials | None
    window: Callable[[], float]
    token_ttl: Callable[[], float]
    clock: Callable[[], float] = time.time
    nonces: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    verified: int = 0
    refused: int = 0
    tokens_issued: int = 0

    def check(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme = header.split(" ", 1)[0].lower()
        try:
            if scheme == "oauth":
                self._check_tba(request, header)
            elif scheme == "bearer":
                self._check_bearer(header.split(" ", 1)[1].strip() if " " in header else "")
            else:
                raise invalid_login("no OAuth or Bearer Authorization header")
        except VendorError:
            self.refused += 1
            raise
        self.verified += 1

    # --- token-based authentication ---

    def _check_tba(self, request: Request, header: str) -> None:
        if self.tba is None:
            raise invalid_login("token-based authentication is not enabled for this integration")
        try:
            given = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
        except (ValueError, IndexError) as exc:
            raise invalid_login(f"malformed OAuth header: {exc}") from None
        if given.get("realm") != self.account_id:
            raise invalid_login(f"realm must be the account id {self.account_id}, got {given.get('realm')!r}")
        if given.get("oauth_signature_method") != SIGNATURE_METHOD:
            raise invalid_login(f"oauth_signature_method must be {SIGNATURE_METHOD}")
        if given.get("oauth_consumer_key") != self.tba.consumer_key:
            raise invalid_login("consumer_key_unknown")
        if given.get("oauth_token") != self.tba.token_id:
            raise invalid_login("token_rejected")
        stamp = given.get("oauth_timestamp", "")
        if not stamp.isdigit() or abs(self.clock() - int(stamp)) > self.window():
            raise invalid_login(f"timestamp_refused: {stamp!r} is outside {self.window():g} s of the server's time")
        nonce = given.get("oauth_nonce", "")
        if not nonce:
            raise invalid_login("nonce_missing")
        oauth_request = OAuthRequest(str(request.url), request.method, None, {"Authorization": header})
        oauth_request.params = signature.collect_parameters(
            uri_query=request.url.query, headers={"Authorization": header}, exclude_oauth_signature=True
        )
        oauth_request.signature = given.get("oauth_signature", "")
        if not signature.verify_hmac_sha256(oauth_request, self.tba.consumer_secret, self.tba.token_secret):
            raise invalid_login("the signature does not match the request")
        self._forget_old_nonces()
        if nonce in self.nonces:
            raise invalid_login("nonce_used: this nonce was used already")
        self.nonces[nonce] = self.clock()

    def _forget_old_nonces(self) -> None:
        cutoff = self.clock() - 2 * self.window()
        for old in [n for n, at in self.nonces.items() if at < cutoff]:
            del self.nonces[old]

    # --- OAuth 2.0 client credentials ---

    def _check_bearer(self, token: str) -> None:
        expires = self.tokens.get(token)
        if expires is None:
            raise invalid_login("invalid_token: the access token is not known")
        if self.clock() >= expires:
            raise invalid_login("invalid_token: the access token expired")

    def grant(self, form: dict[str, str], token_url: str) -> dict[str, Any]:
        """The token endpoint: a bearer token for a valid client assertion, else 400
        `invalid_request` / `invalid_client` as OAuth answers."""

        def refuse(code: str, why: str) -> VendorError:
            return VendorError(400, {"error": code, "error_description": why})

        if self.m2m is None:
            raise refuse("unauthorized_client", "the client credentials grant is not enabled")
        if form.get("grant_type") != "client_credentials":
            raise refuse("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise refuse("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("kid") != self.m2m.certificate_id:
                raise refuse("invalid_client", f"no certificate {header.get('kid')!r} is mapped to this application")
            claims = jwt.decode(
                assertion,
                self.m2m.public_key,
                algorithms=["PS256", "PS384", "PS512", "RS256"],
                audience=token_url,
                issuer=self.m2m.client_id,
                options={"require": ["iss", "aud", "exp", "iat", "scope"]},
            )
        except jwt.PyJWTError as exc:
            self.refused += 1
            raise refuse("invalid_client", f"the client assertion is not valid: {exc}") from None
        if claims["exp"] - claims["iat"] > 3600:
            raise refuse("invalid_request", "exp must be at most 60 minutes after iat")
        access = secrets.token_urlsafe(32)
        self.tokens[access] = self.clock() + self.token_ttl()
        self.tokens_issued += 1
        return {"access_token": access, "token_type": "bearer", "expires_in": int(self.token_ttl())}

    def expire_tokens(self) -> int:
        count = len(self.tokens)
        self.tokens = dict.fromkeys(self.tokens, 0.0)
        return count


def public_key_of(private_pem: str) -> Any:
    """The certificate's public key, as NetSuite holds it once uploaded."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key()
