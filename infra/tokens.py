"""Bearer tokens: the embedded issuer (``make run``, no identity provider) and the verification
of every token the API is shown (pyjwt).

- **Embedded issuer**: an Ed25519 key generated on first use at ``settings.token_key_file``
  (``var/`` by default, mode 0600); ``caseledger token issue`` signs tokens with it, for the
  server of that store. Issuer ``caseledger-embedded``, audience ``settings.oidc_audience``.
- **An OIDC provider** (``settings.oidc_issuer``): keys from its JWKS (found through its
  discovery document, or ``settings.oidc_jwks_url``), cached, fetched again when a token names a
  key id not yet seen (key rotation). Only that issuer's tokens are accepted then: the embedded
  key is not.

Verification accepts asymmetric algorithms only (``none`` and every HMAC algorithm are refused,
so a token "signed" with the public key as an HMAC secret fails), and checks the signature,
``iss``, ``aud``, ``exp`` (required), ``nbf`` (when present) with 60 s of clock skew, and that
``sub``, ``role`` and ``unit`` are there.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from infra.keys import create_secret
from infra.settings import Settings

EMBEDDED_ISSUER = "caseledger-embedded"
ASYMMETRIC = ["EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
LEEWAY_SECONDS = 60
DEFAULT_TTL = 3600


class InvalidToken(Exception):
    """The token cannot be trusted (401): the message says why, never repeats the token."""


class ProviderUnavailable(Exception):
    """The identity provider's keys cannot be fetched (503)."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says about its bearer."""

    sub: str
    role: str
    unit: str
    name: str | None
    scopes: tuple[str, ...]
    purpose: str | None


# --- the embedded issuer --------------------------------------------------------------------


def signing_key(path: Path) -> Ed25519PrivateKey:
    """The embedded issuer's key, generated (readable by its owner only) if there is none."""
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        create_secret(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    """The RFC 7638 thumbprint of the public key: names it in each token's header."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": jwt.utils.base64url_encode(raw).decode()},
        separators=(",", ":"),
        sort_keys=True,
    )
    return jwt.utils.base64url_encode(hashlib.sha256(jwk.encode()).digest()).decode()


def issue(
    settings: Settings,
    *,
    sub: str,
    role: str,
    unit: str,
    name: str | None = None,
    ttl: int = DEFAULT_TTL,
    scopes: tuple[str, ...] = (),
    purpose: str | None = None,
) -> str:
    """A token of the embedded issuer, valid for ``ttl`` seconds from now."""
    if settings.oidc_issuer:
        raise InvalidToken(
            f"this server accepts tokens of {settings.oidc_issuer} only: get one from it"
        )
    key = signing_key(settings.token_key_file)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": EMBEDDED_ISSUER,
        "aud": settings.oidc_audience,
        "sub": sub,
        "role": role,
        "unit": unit,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    if name:
        claims["name"] = name
    if scopes:
        claims["scope"] = " ".join(scopes)
    if purpose:
        claims["purpose"] = purpose
    return jwt.encode(
        claims, key, algorithm="EdDSA", headers={"kid": key_id(key.public_key()), "typ": "JWT"}
    )


# --- verification ---------------------------------------------------------------------------


class TokenVerifier:
    """Verifies the tokens of the one issuer ``settings`` names (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.audience = settings.oidc_audience
        self.issuer = settings.oidc_issuer or EMBEDDED_ISSUER
        self._jwks_url = settings.oidc_jwks_url
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._embedded: tuple[str, Ed25519PublicKey] | None = None
        if not settings.oidc_issuer:
            public = signing_key(settings.token_key_file).public_key()
            self._embedded = (key_id(public), public)

    def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("not a JWT") from None
        if header.get("alg") not in ASYMMETRIC:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        key = self._key(header.get("kid"), token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ASYMMETRIC,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"the token is not for this audience ({self.audience})") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token's issuer is not trusted here") from None
        except jwt.MissingRequiredClaimError as e:
            raise InvalidToken(f"the token has no {e.claim!r} claim") from None
        except jwt.PyJWTError as e:
            raise InvalidToken(f"the token cannot be verified: {type(e).__name__}") from None
        return _claims(claims)

    def _key(self, kid: object, token: str) -> Any:
        if self._embedded is not None:
            known, public = self._embedded
            if kid != known:
                raise InvalidToken("the token names a key this server does not have")
            return public
        try:
            return self._client().get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as e:
            raise ProviderUnavailable(f"the identity provider's keys: {e}") from None
        except jwt.PyJWTError:
            raise InvalidToken(
                "the token names a key the identity provider does not have"
            ) from None

    def _client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None:
                url = self._jwks_url or _discover_jwks(self.issuer)
                # keys cached for 5 minutes; a kid not among them makes the client fetch again
                self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
            return self._jwks


def _discover_jwks(issuer: str) -> str:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(json.load(response)["jwks_uri"])
    except (OSError, ValueError, KeyError) as e:
        raise ProviderUnavailable(f"the identity provider's discovery document: {e}") from None


def _claims(claims: dict[str, Any]) -> Claims:
    def text(name: str, required: bool = True) -> str | None:
        value = claims.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value or len(value) > 256:
            raise InvalidToken(f"the token's {name!r} claim is missing or not a short text")
        return value

    scope = claims.get("scope", "")
    scopes = tuple(scope.split()) if isinstance(scope, str) else ()
    return Claims(
        sub=text("sub") or "",
        role=text("role") or "",
        unit=text("unit") or "",
        name=text("name", required=False),
        scopes=scopes,
        purpose=text("purpose", required=False),
    )
