// Authorization code flow with PKCE, with openid-client 6 as a public client. The "browser" is fetch with a cookie
// jar: it follows the provider's redirects and types the Self ID into the provider's login page (Self.AspNetCore's),
// prints the number the page shows ({"event":"number"}: the test's device types it), follows the page's status as its
// script does, then goes on to the callback and back to the client.
// Usage: node code.mjs <issuer> <client_id> <redirect_uri> <self_id>
import * as client from 'openid-client';

const [issuer, clientId, redirectUri, selfId] = process.argv.slice(2);
const print = (event) => console.log(JSON.stringify(event));
const jar = new Map();

async function browse(url, init = {}) {
  const headers = new Headers(init.headers);
  const cookies = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  if (cookies) headers.set('cookie', cookies);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(';');
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return response;
}

try {
  const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  // Follow redirects until the provider sends the browser back to the client.
  let url = authorize.href;
  let callback;
  for (let hop = 0; hop < 20 && !callback; hop++) {
    const response = await browse(url);
    if (response.status >= 300 && response.status < 400) {
      const next = new URL(response.headers.get('location'), url);
      if (next.href.startsWith(redirectUri)) { callback = next; break; }
      url = next.href;
      continue;
    }
    const html = await response.text();
    const decode = (s) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x2B;', '+').replaceAll('&#x2F;', '/').replaceAll('&#x3D;', '=');
    const form = html.match(/<form method="post" action="([^"]+)"[^>]*>\s*<input type="hidden" name="state" value="([^"]+)">\s*<input type="hidden" name="([^"]+)" value="([^"]+)">\s*<label for="selfId">/);
    if (form) {
      // The login page: type the Self ID and send it to the device.
      const body = new URLSearchParams({ state: decode(form[2]), [decode(form[3])]: decode(form[4]), selfId, mode: 'push' });
      const posted = await browse(new URL(decode(form[1]), url), { method: 'POST', body });
      if (posted.status < 300 || posted.status >= 400) throw new Error('login refused: ' + (await posted.text()));
      url = new URL(posted.headers.get('location'), url).href;
      print({ event: 'login_submitted' });
      continue;
    }
    const live = html.match(/data-self-status="([^"]+)"/);
    const number = html.match(/id="number"[^>]*>([0-9]+)</);
    if (live) {
      // The waiting page: show the number, then follow the status (JSON polling, as the page's script falls back to).
      if (number) print({ event: 'number', number: number[1] });
      const status = new URL(decode(live[1]), url);
      let view;
      for (let round = 0; round < 120; round++) {
        view = await (await browse(status, { headers: { accept: 'application/json' } })).json();
        if (view.terminal) break;
        await new Promise((done) => setTimeout(done, 500));
      }
      print({ event: 'status', status: view.status });
      if (!view.next) throw new Error('the login page ended with ' + view.status);
      url = new URL(view.next, url).href;
      continue;
    }
    throw new Error('unexpected page: ' + html.slice(0, 300));
  }
  if (!callback) throw new Error('never redirected back to the client');

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  const claims = tokens.claims();
  print({ event: 'tokens', sub: claims.sub, nonce: claims.nonce, amr: claims.amr });
} catch (error) {
  console.error(JSON.stringify({ error: error.error ?? error.code ?? error.name, description: error.error_description ?? error.message }));
  process.exit(1);
}
