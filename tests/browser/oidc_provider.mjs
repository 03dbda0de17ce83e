// A real OpenID provider for the console's login tests: oidc-provider (a certified OP) with its
// development interactions (a login form taking any configured account id, then a consent form),
// which a test can walk with a plain HTTP client or drive in headless Chromium.
//
//   node tests/browser/oidc_provider.mjs <port> <config.json>
//
// config.json:
//   {"clients": [{"client_id": "console", "client_secret": "s3cret",          // no secret: a public client
//                 "redirect_uris": ["http://127.0.0.1:5000/auth/oidc/callback"],
//                 "post_logout_redirect_uris": ["http://127.0.0.1:5000/"]}],
//    "accounts": [{"sub": "ana", "email": "ana@example.com", "cognito:groups": ["ClickstreamAnalyst"]},
//                 {"sub": "kai", "realm_access": {"roles": ["ClickstreamOperator"]}}]}
//
// Every claim of an account is put IN THE ID TOKEN (conformIdTokenClaims: false; custom claims
// ride on the openid scope), so tokens come out shaped like Cognito's (cognito:groups) or
// Keycloak's (realm_access.roles). The issuer is http://127.0.0.1:<port>; PKCE is required of
// every client, as the console always sends it. The signing key is made anew at each start.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const STANDARD_SCOPES = {
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'zoneinfo', 'updated_at'],
};

const [port, configPath] = process.argv.slice(2);
if (!port || !configPath) {
  process.stderr.write('usage: node oidc_provider.mjs <port> <config.json>\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const accounts = new Map(config.accounts.map((account) => [account.sub, account]));

const standardClaims = new Set(['sub', ...Object.values(STANDARD_SCOPES).flat()]);
const customClaims = new Set(config.accounts.flatMap((account) => Object.keys(account)).filter((name) => !standardClaims.has(name)));

const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: `test-${randomBytes(4).toString('hex')}`,
  use: 'sig',
  alg: 'RS256',
};

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: client.client_secret ? 'client_secret_basic' : 'none',
    ...client,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { ...STANDARD_SCOPES, openid: ['sub', ...customClaims] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(_ctx, id) {
    const account = accounts.get(id);
    if (!account) {
      return undefined;
    }
    return { accountId: id, async claims() { return { ...account }; } };
  },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
