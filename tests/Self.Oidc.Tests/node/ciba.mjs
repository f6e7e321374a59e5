// CIBA poll with openid-client 6, knowing nothing of Self: discovery, backchannel request, polling, ID token claims.
// Usage: node ciba.mjs <issuer> <client_id> <client_secret> <login_hint> <binding_message>
//        (client_secret "key:<file>": private_key_jwt with the key in <file>, JSON {"kid", "pkcs8": base64 DER})
// Prints one JSON line per step on stdout; exits non-zero with the error on stderr.
import * as client from 'openid-client';

const [issuer, clientId, clientSecret, loginHint, bindingMessage] = process.argv.slice(2);
const print = (event) => console.log(JSON.stringify(event));

try {
  let authentication;
  if (clientSecret.startsWith('key:')) {
    // private_key_jwt exactly as openid-client makes it; the assertion's JOSE header is printed so the test sees its typ.
    const { readFile } = await import('node:fs/promises');
    const { kid, pkcs8 } = JSON.parse(await readFile(clientSecret.slice(4), 'utf8'));
    const key = await crypto.subtle.importKey('pkcs8', Buffer.from(pkcs8, 'base64'), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    authentication = client.PrivateKeyJwt({ key, kid }, { [client.modifyAssertion]: (header) => print({ event: 'assertion', header }) });
  }
  const config = await client.discovery(new URL(issuer), clientId, authentication ? undefined : clientSecret, authentication, {
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
