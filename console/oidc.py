"""The OpenID Connect authorization code flow with Authlib: discovery, an authorization request
with state + nonce + PKCE, the token exchange, and a validated ID token.

Every call to the provider goes through the URL guard (incidents.guarded_http) with the console's
allowed networks, so a provider on a private network needs its range in CRISIS_ALLOWED_NETWORKS.
The client secret is only ever sent to the token endpoint; nothing here logs it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from incidents.guarded_http import guard, guarded_session
from incidents.netguard import IPNetwork
from incidents.single_sign_on import DISCOVERY_SUFFIX, SignInRefused

TIMEOUT = 10
SCOPE = "openid email profile"
# Clocks of two machines disagree a little; an ID token a minute off is still this sign-in.
LEEWAY_SECONDS = 60
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


@dataclass(frozen=True)
class Pending:
    """What the browser's session keeps between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier}


def _json(session: requests.Session, url: str) -> dict[str, Any]:
    try:
        response = session.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SignInRefused("provider_unreachable", detail=type(error).__name__) from None
    if not isinstance(document, dict):
        raise SignInRefused("provider_unreachable", detail="not a JSON object")
    return document


def discover(issuer: str, networks: Sequence[IPNetwork]) -> dict[str, Any]:
    """The provider's discovery document; its issuer must be the configured one (a trailing slash
    aside: ID tokens are then checked against the issuer exactly as the provider spells it)."""
    document = _json(guarded_session(networks), issuer.rstrip("/") + DISCOVERY_SUFFIX)
    if not isinstance(document.get("issuer"), str) or document["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise SignInRefused("provider_unreachable", detail="issuer mismatch in discovery")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise SignInRefused("provider_unreachable", detail=f"no {key} in discovery")
    return document


def _client(config: dict[str, Any], redirect_uri: str, networks: Sequence[IPNetwork]) -> OAuth2Session:
    client = OAuth2Session(config["client_id"], config["client_secret"], scope=SCOPE, redirect_uri=redirect_uri,
                           code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    guard(client, networks)
    return client


def authorization_url(config: dict[str, Any], redirect_uri: str,
                      networks: Sequence[IPNetwork]) -> tuple[str, Pending]:
    """Where to send the browser, and the state, nonce and PKCE verifier to check on its return."""
    document = discover(config["issuer"], networks)
    pending = Pending(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                      verifier=secrets.token_urlsafe(48))
    url, _state = _client(config, redirect_uri, networks).create_authorization_url(
        document["authorization_endpoint"], state=pending.state, nonce=pending.nonce, code_verifier=pending.verifier)
    return url, pending


def finish(config: dict[str, Any], pending: dict[str, str] | None, args: dict[str, str], redirect_uri: str,
           networks: Sequence[IPNetwork], now: datetime) -> dict[str, Any]:
    """The claims of the ID token this callback earns, after every check; SignInRefused otherwise."""
    if not pending or not args.get("state") or not secrets.compare_digest(args["state"], pending.get("state", "")):
        raise SignInRefused("state_mismatch")
    if args.get("error"):
        raise SignInRefused("provider_error", detail=str(args["error"])[:100])
    if not args.get("code"):
        raise SignInRefused("provider_error", detail="no code")
    document = discover(config["issuer"], networks)
    client = _client(config, redirect_uri, networks)
    try:
        token = client.fetch_token(document["token_endpoint"], grant_type="authorization_code", code=args["code"],
                                   code_verifier=pending["verifier"], timeout=TIMEOUT)
    except Exception as error:  # noqa: BLE001 - any failure of the exchange is one refusal
        raise SignInRefused("token_exchange", detail=type(error).__name__) from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRefused("token_exchange", detail="no id_token")
    return validate_id_token(id_token, keys=_json(guarded_session(networks), document["jwks_uri"]),
                             issuer=document["issuer"], client_id=config["client_id"], nonce=pending["nonce"], now=now)


def validate_id_token(id_token: str, *, keys: dict[str, Any], issuer: str, client_id: str, nonce: str,
                      now: datetime) -> dict[str, Any]:
    """The claims of an ID token signed by one of the provider's keys, for this client, this
    sign-in (nonce) and this moment (exp, iat); SignInRefused("id_token") otherwise."""
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=ID_TOKEN_ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()), leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
            nonce={"essential": True, "value": nonce}, sub={"essential": True},
            exp={"essential": True}, iat={"essential": True},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise SignInRefused("id_token", detail=type(error).__name__) from None
    claims = dict(token.claims)
    # Several audiences: the authorized party must be this client (OpenID Connect Core 3.1.3.7).
    if isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1 and claims.get("azp") != client_id:
        raise SignInRefused("id_token", detail="azp")
    return claims
