"""Log in with OpenID Connect (Google, Keycloak, Auth0, ...) and show who you are.

    OIDC_SERVER_METADATA_URL=https://accounts.google.com/.well-known/openid-configuration \\
    OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... python examples/oauth.py

Register http://127.0.0.1:8000/auth as the redirect URI at the provider.
PORT and WORKERS (default 8000 and 1) choose where and how many processes.

To see it work without registering anywhere:

    python examples/oauth.py --demo

starts a local DEMO provider (examples/demo_provider.py, needs Flask) in this
process and logs in with it: user alice, password wonderland. Never for production.
"""

import html
import os
import sys

from htag import Tag

from htag_sse import HtagSSE, OAuthLogin

PORT = int(os.environ.get("PORT", "8000"))

if __name__ == "__main__" and "--demo" in sys.argv[1:]:
    try:
        import demo_provider  # next to this file (Python puts the script's folder on sys.path)
    except ImportError as e:
        sys.exit(f"--demo needs the demo provider's dependencies ({e}): pip install flask")
    redirects = [f"http://{host}:{PORT}/auth" for host in ("127.0.0.1", "localhost")]
    issuer = demo_provider.start("demo-app", "demo-secret", redirects)
    # In the environment: worker processes (WORKERS > 1) read it too.
    os.environ.update(OIDC_SERVER_METADATA_URL=f"{issuer}/.well-known/openid-configuration",
                      OIDC_CLIENT_ID="demo-app", OIDC_CLIENT_SECRET="demo-secret")  # fmt: skip
    print(f"DEMO provider at {issuer}: log in as {demo_provider.DEMO_USER} / {demo_provider.DEMO_PASSWORD}.\n"
          "It is a demo: anyone can log in as that user. Never use it in production.\n"
          f"Open http://127.0.0.1:{PORT}/", flush=True)  # fmt: skip


class App(Tag.div):
    def init(self):
        user = login.user(self)  # the claims of the logged-in user (login.required ensures one)
        name = user.get("name") or user.get("preferred_username") or user.get("login") or str(user.get("sub"))
        self += Tag.h1(f"Hello {html.escape(name)}", _class="hello")
        self += Tag.p(html.escape(user.get("email", "")), _class="email")
        self.clicks = Tag.span(self.state.get("clicks", 0), _class="clicks")
        self += Tag.button("click", _onclick=self.click, _class="click")
        self += self.clicks
        self += Tag.p(Tag.a("log out", _href="/logout", _class="logout"))

    def click(self, ev):
        self.state["clicks"] = self.state.get("clicks", 0) + 1
        self.clicks.clear(self.state["clicks"])


app = HtagSSE()
login = OAuthLogin(app, "oidc", server_metadata_url=os.environ.get("OIDC_SERVER_METADATA_URL"))
app.add_route("/", login.required(App))

if __name__ == "__main__":
    app.run(port=PORT, workers=int(os.environ.get("WORKERS", "1")))
