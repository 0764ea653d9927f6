"""A minimal OpenID Connect provider for tests, served on 127.0.0.1 only.

Built from OpenID Connect Core 1.0 (authorization code flow, sections 3.1.2-3.1.3), OpenID
Connect Discovery 1.0 and RFC 7636 (PKCE, S256): a discovery document, a JWKS, an authorize
endpoint that approves `provider.person` without asking, and a token endpoint that checks the
client's credentials (HTTP Basic), the code, the redirect URI and the PKCE verifier before it
issues an RS256-signed ID token. Knobs let a test forge what a hostile provider would send.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.support.servers import serving

CLIENT_ID = "crisis-console"
CLIENT_SECRET = "s3cret-only-the-token-endpoint-sees"


@dataclass
class FakeProvider:
    """The provider's state: who signs in, when it is, what the next ID token carries."""

    now: datetime
    person: dict[str, Any] = field(default_factory=dict)
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    # Claims merged into the next ID tokens (e.g. {"aud": "someone-else"}), a key to sign them with
    # instead of the published one, and how long they live.
    overrides: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    lifetime: timedelta = timedelta(minutes=5)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    def id_token(self, grant: dict[str, Any]) -> str:
        issued = int(self.now.timestamp())
        claims = {"iss": self.issuer, "aud": grant["client_id"], "iat": issued,
                  "exp": issued + int(self.lifetime.total_seconds()), "nonce": grant["nonce"], **self.person,
                  **self.overrides}
        key = self.sign_with or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def provider_app(provider: FakeProvider) -> Flask:
    app = Flask("fake_oidc")

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(issuer=provider.issuer, authorization_endpoint=f"{provider.issuer}/authorize",
                       token_endpoint=f"{provider.issuer}/token", jwks_uri=f"{provider.issuer}/jwks",
                       response_types_supported=["code"], subject_types_supported=["public"],
                       id_token_signing_alg_values_supported=["RS256"], code_challenge_methods_supported=["S256"])

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(KeySet([provider.key]).as_dict(private=False))

    @app.get("/authorize")
    def authorize() -> Any:
        args = request.args
        if (args.get("response_type") != "code" or args.get("client_id") != CLIENT_ID
                or args.get("code_challenge_method") != "S256" or "openid" not in args.get("scope", "").split()):
            abort(400)
        code = secrets.token_urlsafe(16)
        provider.codes[code] = {"client_id": args["client_id"], "redirect_uri": args["redirect_uri"],
                                "nonce": args.get("nonce", ""), "challenge": args["code_challenge"]}
        return redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args.get('state', '')})}")

    @app.post("/token")
    def token() -> Any:
        form = request.form
        auth = request.authorization
        provider.token_requests.append({"form": form.to_dict(), "user": auth.username if auth else None})
        if auth is None or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return jsonify(error="invalid_client"), 401
        grant = provider.codes.pop(form.get("code", ""), None)
        if (grant is None or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant["redirect_uri"]
                or _s256(form.get("code_verifier", "")) != grant["challenge"]):
            return jsonify(error="invalid_grant"), 400
        return jsonify(access_token=secrets.token_urlsafe(16), token_type="Bearer", expires_in=300,
                       id_token=provider.id_token(grant))

    return app


@contextmanager
def running_provider(now: datetime, person: dict[str, Any]) -> Iterator[FakeProvider]:
    """A provider on a free port of 127.0.0.1 approving `person` (their claims), for the with-block."""
    provider = FakeProvider(now=now, person=person)
    with serving(provider_app(provider)) as server:
        provider.issuer = server.url
        yield provider
