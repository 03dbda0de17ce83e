"""Settings of the web console (``clickstream console``): where it listens, its database, the
Dagster webserver it reads, and how people sign in.

Kept apart from ``config.py`` like the operations settings; ``ProjectConfig`` embeds them, so an
error names the field the same way (``console.oidc.issuer: ...``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HTTP_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"


class _Strict(BaseModel):
    # Same rule as config.py: an unknown key is almost always a typo.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsoleOidcSettings(_Strict):
    """Sign-in through an OpenID provider (Cognito, Keycloak, Auth0, ADFS, ...): authorization
    code flow with PKCE. Roles come from the ID token's groups (System → Users → Settings)."""

    # The provider's issuer; <issuer>/.well-known/openid-configuration must answer.
    issuer: str = Field(pattern=_HTTP_URL)
    client_id: str = Field(min_length=1, max_length=500)
    # A confidential client's secret is never in the file: the environment variable holding it.
    # Unset: a public client (PKCE alone).
    client_secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    scopes: str = "openid email profile"
    # The name on the sign-in button.
    display_name: str = Field(default="single sign-on", min_length=1, max_length=100)
    # Providers without an end_session_endpoint in their discovery document (Cognito: its hosted
    # UI's https://<domain>/logout) are signed out of through this URL.
    logout_endpoint: str | None = Field(default=None, pattern=_HTTP_URL)
    # Clock skew tolerated on the ID token's exp/iat between the provider and this server.
    leeway_seconds: int = Field(default=60, ge=0, le=600)

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError("must include 'openid' (the ID token is what signs a user in)")
        return value


class ConsoleSettings(_Strict):
    bind: str = Field(default="127.0.0.1:8090", pattern=r"^[^\s:]+:\d{1,5}$")
    # The address people open (and the base of the OIDC redirect URI); default http://<bind>.
    public_url: str | None = Field(default=None, pattern=_HTTP_URL)
    # SQLAlchemy URL of the console database; default a SQLite file in the data directory.
    # PostgreSQL in production: postgresql+psycopg://user@host/db (password via PGPASSWORD or .pgpass).
    database_url: str | None = Field(default=None, min_length=1)
    # The Dagster webserver whose GraphQL API the pipeline pages read (and whose UI they link to).
    dagster_url: str = Field(default="http://127.0.0.1:3000", pattern=_HTTP_URL)
    # A signed-in session lasts this long without a new sign-in.
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Email + password of users created in System → Users (or at setup). With an identity
    # provider configured, turn it off so every sign-in goes through the provider.
    local_login: bool = True
    oidc: ConsoleOidcSettings | None = None
    # Failed sign-ins allowed per address and per account within the window before 429.
    login_attempts: int = Field(default=5, ge=1, le=1000)
    login_window_seconds: int = Field(default=300, ge=10, le=86400)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.bind}").rstrip("/")

    @property
    def on_loopback(self) -> bool:
        """Whether people reach the console on this machine only (then plain HTTP is fine and
        cookies go without ``Secure``, which browsers would not send back over http)."""
        host = urlsplit(self.base_url).hostname or ""
        return host in {"localhost", "127.0.0.1", "::1"}
