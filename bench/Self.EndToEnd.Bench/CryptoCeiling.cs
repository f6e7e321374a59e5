using System.Diagnostics;
using System.Text;
using Self.Crypto.Envelope;
using Self.Crypto.Olm;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.Keys;

namespace Self.EndToEnd.Bench;

/// <summary>
/// The CPU cost of the cryptography one authentication round trip needs, done back to back on one thread: the app signs
/// the request and seals it (one Olm encryption + XChaCha20-Poly1305), the device opens it (one Olm decryption) and
/// verifies it, then the same again for the answer — two signatures, two verifications, two envelope seals and opens,
/// which hold the two Olm encryptions and decryptions. Sessions are established (type 1), as they are in steady state.
/// </summary>
internal static class CryptoCeiling
{
    public static double MeasureRoundTripsPerSecond(TimeSpan duration)
    {
        var appKey = SigningKey.Generate("1");
        var userKey = SigningKey.Generate();
        var app = OlmAccount.FromSigningKey(appKey);
        var user = OlmAccount.FromSigningKey(userKey);
        user.GenerateOneTimeKeys(1);
        var oneTimeKey = user.GetUnpublishedOneTimeKeys()[0];
        var appAddress = new Address("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0", "1");
        var userAddress = new Address("84099724068", "1");

        var appSession = OlmSession.CreateOutbound(app, user.IdentityKeys.Curve25519, oneTimeKey.Key);
        var first = appSession.Encrypt("hello"u8);
        var userSession = OlmSession.CreateInbound(user, first.Body, app.IdentityKeys.Curve25519);
        userSession.Decrypt(first);
        appSession.Decrypt(userSession.Encrypt("hello"u8));

        var request = Encoding.UTF8.GetBytes(
            """{"typ":"identities.facts.query.req","iss":"5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0","sub":"84099724068","aud":"84099724068","iat":"2026-11-28T10:00:00.000Z","exp":"2026-11-28T10:05:00.000Z","cid":"6a4c3a4e-6a8b-4c59-9d59-8f4e1f9a7b10","jti":"0d9d4a36-2b2a-4e8b-8d0a-3c9a8d7c6b5e","facts":[],"auth":true,"device_id":"1","description":"Sign in"}""");
        var response = Encoding.UTF8.GetBytes(
            """{"typ":"identities.facts.query.resp","iss":"84099724068","sub":"84099724068","aud":"5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0","iat":"2026-11-28T10:00:01.000Z","exp":"2026-11-28T10:05:01.000Z","cid":"6a4c3a4e-6a8b-4c59-9d59-8f4e1f9a7b10","jti":"7b4c3a4e-6a8b-4c59-9d59-8f4e1f9a7b11","status":"accepted","auth":true,"facts":[],"device_id":"1"}""");
        var appPublic = appKey.PublicKey;
        var userPublic = userKey.PublicKey;

        void RoundTrip()
        {
            var requestJws = FlattenedJws.Sign(request, appKey);
            var sealedRequest = GroupEnvelope.Seal(requestJws.ToUtf8Bytes(), [new EnvelopeRecipient(userAddress, appSession)]);
            var openedRequest = GroupEnvelope.Open(sealedRequest, userAddress, userSession.Decrypt);
            if (!FlattenedJws.Parse(openedRequest).Verify(appPublic))
            {
                throw new InvalidOperationException("request signature");
            }

            var responseJws = FlattenedJws.Sign(response, userKey);
            var sealedResponse = GroupEnvelope.Seal(responseJws.ToUtf8Bytes(), [new EnvelopeRecipient(appAddress, userSession)]);
            var openedResponse = GroupEnvelope.Open(sealedResponse, appAddress, appSession.Decrypt);
            if (!FlattenedJws.Parse(openedResponse).Verify(userPublic))
            {
                throw new InvalidOperationException("response signature");
            }
        }

        for (var i = 0; i < 200; i++)
        {
            RoundTrip();
        }

        var count = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            RoundTrip();
            count++;
        }

        return count / watch.Elapsed.TotalSeconds;
    }
}
