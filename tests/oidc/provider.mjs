// A real OpenID Connect provider on loopback for tests/test_oidc.py: panva's certified
// oidc-provider with its development login and consent pages.
//
// Reads one JSON object on stdin: {"clients": [{client_id, client_secret, redirect_uris}],
// "emailInIdToken": false}. With emailInIdToken the ID token itself carries the e-mail
// claims (as Google's does); without it they come only from the userinfo endpoint.
// Listens on an ephemeral port of 127.0.0.1 and prints {"issuer": "http://127.0.0.1:PORT"}
// on one line once it answers. Runs until stdin closes or it is killed.
//
// Accounts: whatever login name the test types on the login page is the account (its
// `sub`). "someone@example.org" has that e-mail, verified; "unverified:someone@example.org"
// has the same e-mail, NOT verified (a provider that did not check the address).
import http from 'node:http';
import Provider from 'oidc-provider';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
    if (Buffer.concat(chunks).includes('\n')) break;
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function claimsOf(accountId) {
  const unverified = accountId.startsWith('unverified:');
  const email = unverified ? accountId.slice('unverified:'.length) : accountId;
  return {
    sub: accountId,
    email,
    email_verified: !unverified,
    preferred_username: email.split('@')[0],
    name: email.split('@')[0],
  };
}

const config = await readStdin();
const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
  },
  cookies: { keys: ['classquiz-test-cookie-key-not-secret'] },
  conformIdTokenClaims: !config.emailInIdToken,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, accountId) {
    return { accountId, claims: async () => claimsOf(accountId) };
  },
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));
server.on('request', provider.callback());

console.log(JSON.stringify({ issuer }));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
