"""Plugins: the transformer and enrichments with their options (secrets masked), what each says
it does (read from its source, never by running it), and the secrets-bearing ingestion and sink
settings, masked the same way."""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

import pytest

from clickstream_console.audit import MASK
from clickstream_console.identity.roles import Role
from clickstream_console.plugins.descriptions import PluginNotFound, plugin_source
from tests.console.console_helpers import add_user, console_app, sign_in, write_project

SECRETS = (
    "sk-live-enrichment-key",
    "maxmind-license",
    "transformer-client-secret",
    "kafka-sasl-password",
    "kafka-jaas-password",
    "oidc-token",
)


def _operator_client(project_file: Path):
    app = console_app(project_file)
    add_user(app, "ops@example.com", [Role.OPERATOR])
    client = app.test_client()
    assert sign_in(client, "ops@example.com").status_code == 302
    return client


@pytest.fixture
def custom_plugins(tmp_path, monkeypatch):
    """A package of plugins on the Python path whose modules fail when run: the console must
    describe them without importing them."""
    package = tmp_path / "site" / "acme_plugins"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('raise RuntimeError("acme_plugins was imported")\n')
    (package / "geo.py").write_text(
        textwrap.dedent(
            '''
            """Geo lookups against ACME's service."""
            import pyspark_is_not_needed_here  # noqa


            class AcmeGeo:
                """Fills ``geo`` from ACME's paid
                lookup service.

                Options: api_key, region.
                """


            class Undocumented:
                pass

            raise RuntimeError("acme_plugins.geo was imported")
            '''
        )
    )
    (package / "broken.py").write_text("class Broken(:\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return package


@pytest.fixture
def plugins_page(tmp_path, custom_plugins):
    project_file = write_project(
        tmp_path,
        pipeline={
            "ingestion": {
                "auth": {"issuer": "https://issuer.example.com", "audience": "clickstream", "jwks_url": "https://issuer.example.com/jwks"}
            },
            "sink": {
                "type": "kafka",
                "kafka": {
                    "bootstrap_servers": "broker-1.example.com:9096",
                    "producer_config": {
                        "sasl.username": "svc-clickstream",
                        "sasl.password": "kafka-sasl-password",
                        "sasl.jaas.config": 'PlainLoginModule required username="svc" password="kafka-jaas-password";',
                    },
                },
            },
            "processing": {
                "transformer": {
                    "name": "plugins.sdk_transformer.SdkTransformer",
                    "options": {"client_secret": "transformer-client-secret"},
                },
                "enrichments": [
                    "plugins.enrich_ua.UserAgentEnrichment",
                    {
                        "name": "acme_plugins.geo.AcmeGeo",
                        "options": {"api_key": "sk-live-enrichment-key", "license_key": "maxmind-license", "region": "eu-west-1"},
                    },
                    {"name": "acme_plugins.geo.Undocumented", "options": {"refresh_token": "oidc-token"}},
                    "acme_plugins.geo.Missing",
                    "acme_plugins.broken.Broken",
                    "no_such_package.module.Plugin",
                ],
            },
        },
    )
    response = _operator_client(project_file).get("/plugins")
    assert response.status_code == 200
    return response


def test_secret_looking_options_and_settings_are_masked(plugins_page):
    body = plugins_page.get_data()
    for secret in SECRETS:
        assert secret.encode() not in body
    page = html.unescape(plugins_page.get_data(as_text=True))
    assert f"<code>api_key</code></td><td>{MASK}<" in page and f"<code>client_secret</code></td><td>{MASK}<" in page
    assert f"<code>license_key</code></td><td>{MASK}<" in page and f"<code>refresh_token</code></td><td>{MASK}<" in page
    assert f"<code>kafka.producer_config.sasl.password</code></td><td>{MASK}<" in page
    assert f"<code>kafka.producer_config.sasl.jaas.config</code></td><td>{MASK}<" in page
    # Everything else is shown as configured.
    assert "<code>region</code></td><td>eu-west-1<" in page
    assert "<code>kafka.producer_config.sasl.username</code></td><td>svc-clickstream<" in page
    assert "<code>kafka.bootstrap_servers</code></td><td>broker-1.example.com:9096<" in page
    assert "<code>issuer</code></td><td>https://issuer.example.com<" in page
    assert 'data-testid="sink-type">kafka<' in page


def test_each_plugin_in_order_with_what_its_source_says(plugins_page):
    page = plugins_page.get_data(as_text=True)
    assert re.findall(r'data-plugin="([^"]+)"', page) == [
        "plugins.sdk_transformer.SdkTransformer",
        "plugins.enrich_ua.UserAgentEnrichment",
        "acme_plugins.geo.AcmeGeo",
        "acme_plugins.geo.Undocumented",
        "acme_plugins.geo.Missing",
        "acme_plugins.broken.Broken",
        "no_such_package.module.Plugin",
    ]
    assert "Maps events sent by the official Clickstream SDKs (Android, Swift, Web)." in page
    # The summary is the docstring's first paragraph, on one line, code marked as code.
    assert "Fills <code>geo</code> from ACME&#39;s paid lookup service.</p>" in page
    assert "No description in its source." in page
    assert "read-only" in page.lower()


def test_a_plugin_that_cannot_be_found_is_shown_with_the_reason(plugins_page):
    problems = html.unescape(" | ".join(re.findall(r'data-testid="plugin-problem">([^<]*)<', plugins_page.get_data(as_text=True))))
    assert "no class 'Missing' is defined in" in problems
    assert "acme_plugins/broken.py" in problems and "invalid syntax" in problems
    assert "module 'no_such_package' not found on the console's Python path" in problems


def test_no_ingestion_auth_is_said_plainly(tmp_path):
    page = _operator_client(write_project(tmp_path)).get("/plugins").get_data(as_text=True)
    assert "ingestion accepts requests without a token" in page
    assert 'data-testid="sink-type">local<' in page


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("acme_plugins.nothing.Plugin", "module 'acme_plugins.nothing' not found"),
        ("acme_plugins.geo.inner.Plugin", "'acme_plugins.geo' is not a package"),
        ("acme_plugins.Plugin", "module 'acme_plugins' has no Python source to read"),
    ],
)
def test_plugin_sources_that_cannot_be_read(custom_plugins, name, reason):
    (custom_plugins / "__init__.py").unlink()  # a namespace package: no source of its own
    with pytest.raises(PluginNotFound, match=reason):
        plugin_source(name)


def test_an_edited_plugin_is_read_again(custom_plugins):
    assert plugin_source("acme_plugins.geo.AcmeGeo").summary == "Fills ``geo`` from ACME's paid lookup service."
    source = custom_plugins / "geo.py"
    source.write_text(source.read_text().replace("Fills ``geo`` from ACME's paid", "Fills geo and more from ACME's free"))
    assert plugin_source("acme_plugins.geo.AcmeGeo").summary == "Fills geo and more from ACME's free lookup service."
