"""A DEMO OpenID Connect provider, in memory (authlib + Flask): for the tests and for
``python examples/oauth.py --demo``. NEVER for production: one fixed user,
alice / wonderland, anyone may log in as her; keys and clients live in memory.

Usage: python demo_provider.py [--port 0] [--client-id ID] [--client-secret S]
                               [--redirect-uri URI ...]
Binds 127.0.0.1 (port 0 = a free one) and prints "OIDC_PROVIDER_READY <issuer>"
on stdout once it accepts connections. In a program: ``start(...)`` serves it
from a thread and returns its issuer URL.
"""

import argparse
import html
import secrets
import sys
import threading
import time
from typing import ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo, UserInfoEndpoint
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import BaseWSGIServer, make_server

#: The demo user's name and password.
DEMO_USER, DEMO_PASSWORD = "alice", "wonderland"

USERS = {DEMO_USER: {"password": DEMO_PASSWORD, "sub": "alice-0001", "name": "Alice Liddell",
                   "preferred_username": "alice", "email": "alice@example.test", "email_verified": True}}
KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
ISSUER = ""  # set in main() once the port is known
CLIENTS, CODES, TOKENS = {}, {}, {}


class Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Client(Obj):  # implements authlib's ClientMixin duck-typed
    client_metadata: ClassVar[dict[str, str]] = {}
    def get_client_id(self): return self.client_id
    def get_default_redirect_uri(self): return self.redirect_uris[0]
    def get_allowed_scope(self, scope): return " ".join(s for s in (scope or "").split() if s in ("openid", "profile", "email"))
    def check_redirect_uri(self, uri): return uri in self.redirect_uris
    def check_client_secret(self, secret): return secrets.compare_digest(secret, self.client_secret)
    def check_endpoint_auth_method(self, method, endpoint): return method in ("client_secret_basic", "client_secret_post")
    def check_response_type(self, response_type): return response_type == "code"
    def check_grant_type(self, grant_type): return grant_type == "authorization_code"


class AuthCode(Obj):  # AuthorizationCodeMixin
    def get_redirect_uri(self): return self.redirect_uri
    def get_scope(self): return self.scope
    def get_nonce(self): return self.nonce
    def get_auth_time(self): return self.auth_time
    def get_acr(self): return None
    def get_amr(self): return ["pwd"]


class Token(Obj):  # TokenMixin
    def check_client(self, client): return client.client_id == self.client_id
    def get_scope(self): return self.scope
    def get_expires_in(self): return self.expires_in
    def is_expired(self): return time.time() > self.issued_at + self.expires_in
    def is_revoked(self): return False
    def get_user(self): return USERS[self.username]
    def get_client(self): return CLIENTS[self.client_id]


def user_info(user, scope):
    return UserInfo({k: v for k, v in user.items() if k != "password"}).filter(scope)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code, req):
        CODES[code] = AuthCode(code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
                               scope=req.scope, username=req.user["preferred_username"], auth_time=int(time.time()),
                               nonce=req.payload.data.get("nonce"),
                               code_challenge=req.payload.data.get("code_challenge"),
                               code_challenge_method=req.payload.data.get("code_challenge_method"))

    def query_authorization_code(self, code, client):
        item = CODES.get(code)
        return item if item and item.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code): CODES.pop(authorization_code.code, None)
    def authenticate_user(self, authorization_code): return USERS[authorization_code.username]


class OIDCCode(OpenIDCode):
    def exists_nonce(self, nonce, req): return any(c.nonce == nonce for c in CODES.values())
    def resolve_client_private_key(self, client): return KEY
    def get_client_algorithm(self, client): return "RS256"
    def get_encode_header(self, client): return {"alg": "RS256", "kid": KEY.kid}
    def get_client_claims(self, client): return {"iss": ISSUER, "aud": [client.client_id]}
    def generate_user_info(self, user, scope): return user_info(user, scope)


class MyUserInfoEndpoint(UserInfoEndpoint):
    def get_issuer(self): return ISSUER
    def resolve_private_key(self): return KEY
    def generate_user_info(self, user, scope): return user_info(user, scope)


class MyBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string): return TOKENS.get(token_string)


def save_token(token, req):
    TOKENS[token["access_token"]] = Token(client_id=req.client.client_id, username=req.user["preferred_username"],
                                          scope=token["scope"], expires_in=token["expires_in"], issued_at=time.time())


app = Flask(__name__)
server = AuthorizationServer(app, query_client=CLIENTS.get, save_token=save_token)
server.register_grant(AuthorizationCodeGrant, [OIDCCode(require_nonce=True), CodeChallenge(required=False)])
protector = ResourceProtector()
protector.register_token_validator(MyBearerTokenValidator())
server.register_endpoint(MyUserInfoEndpoint(resource_protector=protector))

LOGIN_PAGE = """<!doctype html><html><head><title>DEMO provider login</title></head><body>
<h1>Sign in to the DEMO provider</h1>{error}
<p>Not a real provider: the demo user is <b>alice</b>, password <b>wonderland</b>.</p>
<form method="post"><!-- posts back to the same /authorize?... URL, keeping the OAuth params -->
<label>Username <input name="username" id="username" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="submit">Sign in</button></form></body></html>"""


@app.route("/authorize", methods=["GET", "POST"])
def authorize():
    try:
        grant = server.get_consent_grant(end_user=None)  # validates client, redirect_uri, scope, nonce
    except OAuth2Error as error:  # redirect errors only to an already validated redirect_uri
        if error.redirect_uri:
            return server.handle_error_response(None, error)
        return f"<h1>Invalid authorization request</h1><p>{html.escape(error.get_error_description() or error.error)}</p>", 400
    if request.method == "GET":
        return LOGIN_PAGE.format(error="")
    user = USERS.get(request.form.get("username", ""))
    if not user or not secrets.compare_digest(user["password"], request.form.get("password", "")):
        return LOGIN_PAGE.format(error='<p id="error">Invalid username or password</p>'), 401
    return server.create_authorization_response(grant_user=user, grant=grant)  # auto-consent


@app.route("/token", methods=["POST"])
def issue_token():
    return server.create_token_response()


@app.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return server.create_endpoint_response("userinfo")


@app.route("/jwks")
def jwks():
    return jsonify(keys=[KEY.as_dict(private=False)])


@app.route("/.well-known/openid-configuration")
def discovery():
    return jsonify(
        issuer=ISSUER, authorization_endpoint=ISSUER + "/authorize", token_endpoint=ISSUER + "/token",
        userinfo_endpoint=ISSUER + "/userinfo", jwks_uri=ISSUER + "/jwks",
        response_types_supported=["code"], subject_types_supported=["public"],
        id_token_signing_alg_values_supported=["RS256"], scopes_supported=["openid", "profile", "email"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        grant_types_supported=["authorization_code"], code_challenge_methods_supported=["S256", "plain"],
        claims_supported=["sub", "name", "preferred_username", "email", "email_verified"])


def bind(port: int, client_id: str, client_secret: str, redirect_uris: list[str]) -> BaseWSGIServer:
    """The provider on 127.0.0.1:``port`` (0: a free one), with one client; call its ``serve_forever()``."""
    global ISSUER
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    ISSUER = f"http://127.0.0.1:{httpd.server_port}"
    CLIENTS[client_id] = Client(client_id=client_id, client_secret=client_secret, redirect_uris=redirect_uris)
    return httpd


def start(client_id: str, client_secret: str, redirect_uris: list[str], port: int = 0) -> str:
    """Serve the provider from a daemon thread of this process; returns its issuer URL."""
    httpd = bind(port, client_id, client_secret, redirect_uris)
    threading.Thread(target=httpd.serve_forever, name="demo OIDC provider", daemon=True).start()
    return ISSUER


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--client-id", default="test-client")
    p.add_argument("--client-secret", default="test-secret")
    p.add_argument("--redirect-uri", action="append", default=[])
    args = p.parse_args()
    httpd = bind(args.port, args.client_id, args.client_secret, args.redirect_uri)
    print("OIDC_PROVIDER_READY", ISSUER, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
