// CIBA poll with openid-client 6, knowing nothing of Self: discovery, backchannel request, polling, ID token claims.
// Usage: node ciba.mjs <issuer> <client_id> <client_secret> <login_hint> <binding_message>
// Prints one JSON line per step on stdout; exits non-zero with the error on stderr.
import * as client from 'openid-client';

const [issuer, clientId, clientSecret, loginHint, bindingMessage] = process.argv.slice(2);
const print = (event) => console.log(JSON.stringify(event));

try {
  const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  const metadata = config.serverMetadata();
  print({ event: 'discovered', backchannel_authentication_endpoint: metadata.backchannel_authentication_endpoint });

  const started = await client.initiateBackchannelAuthentication(config, {
    scope: 'openid',
    login_hint: loginHint,
    binding_message: bindingMessage,
  });
  print({ event: 'started', expires_in: started.expires_in, interval: started.interval });

  const tokens = await client.pollBackchannelAuthenticationGrant(config, started);
  const claims = tokens.claims();
  print({ event: 'tokens', sub: claims.sub, iss: claims.iss, aud: claims.aud, amr: claims.amr, auth_time: claims.auth_time, has_access_token: !!tokens.access_token });
} catch (error) {
  console.error(JSON.stringify({ error: error.error ?? error.code ?? error.name, description: error.error_description ?? error.message }));
  process.exit(1);
}
