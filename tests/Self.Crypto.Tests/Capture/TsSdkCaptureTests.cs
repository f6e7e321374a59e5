using System.Text;
using System.Text.Json;
using Self.Crypto.Envelope;
using Self.Crypto.Keys;
using Self.Crypto.Olm;
using Self.Protocol.Encoding;
using Self.Protocol.Identifiers;
using Self.Protocol.Keys;
using Self.Testing;

namespace Self.Crypto.Tests.Capture;

/// <summary>
/// The capture of the official TypeScript SDK (shared/conformance/ts-sdk): its envelopes, opened with the
/// captured keys and Olm state, give exactly the captured JWS bytes.
/// </summary>
public sealed class TsSdkCaptureTests
{
    private static readonly Address User = Address.Parse("84099724068:1");
    private static readonly Address App = Address.Parse("f37e9ec4af9a32d8e9fdad497a8b8ab1:1");

    [Fact]
    public void UserAccount_FromSeed_HasTheIdentityKeysOlmReported()
    {
        using var keys = Json("keys.json");
        var user = keys.RootElement.GetProperty("user");
        var account = OlmAccount.FromSeed(Base64Codec.Decode(user.GetProperty("device_ed25519_seed_b64_std_nopad").GetString()!));
        var reported = user.GetProperty("olm_identity_keys_as_reported_by_olm");

        Assert.Equal(reported.GetProperty("curve25519").GetString(), account.IdentityKeys.Curve25519);
        Assert.Equal(reported.GetProperty("ed25519").GetString(), account.IdentityKeys.Ed25519);
        Assert.Equal(
            user.GetProperty("olm_curve25519_identity_private_b64_std_nopad").GetString(),
            Base64Codec.EncodeStandard(Curve25519Conversion.PrivateKeyFromEd25519Seed(Base64Codec.Decode(user.GetProperty("device_ed25519_seed_b64_std_nopad").GetString()!))));
    }

    [Fact]
    public void AppIdentityKey_InRequestPreKeyMessage_IsTheConvertedAppSigningKey()
    {
        using var keys = Json("keys.json");
        using var layers = Json("olm-layers.json");
        var app = keys.RootElement.GetProperty("app");
        var converted = Curve25519Conversion.IdentityKeyFromEd25519(Base64Codec.Decode(app.GetProperty("app_ed25519_public_b64url").GetString()!));

        Assert.Equal(app.GetProperty("app_curve25519_identity_key_b64_std_nopad").GetString(), converted);
        Assert.Equal(
            layers.RootElement.GetProperty("request").GetProperty("olm_prekey_message").GetProperty("identity_key_b64").GetString(),
            converted);
    }

    [Fact]
    public void RequestEnvelope_OpenedAsTheUser_GivesExactlyTheRequestJws()
    {
        using var keys = Json("keys.json");
        using var layers = Json("olm-layers.json");
        var user = keys.RootElement.GetProperty("user");
        var account = UserAccountFromCapture(keys);
        var served = user.GetProperty("served_one_time_key");
        Assert.Contains(
            new OneTimeKey(served.GetProperty("id").GetString()!, served.GetProperty("public_b64_std_nopad").GetString()!),
            account.GetUnpublishedOneTimeKeys());

        var envelope = GroupEnvelope.Parse(File.ReadAllBytes(Conformance.Path("ts-sdk", "envelope.json")));
        var entry = envelope.Recipients[User.ToString()];
        Assert.Equal(OlmMessageType.PreKey, entry.Type);

        var appIdentityKey = keys.RootElement.GetProperty("app").GetProperty("app_curve25519_identity_key_b64_std_nopad").GetString();
        var session = OlmSession.CreateInbound(account, entry.Body, appIdentityKey);
        var keyAndNonce = session.Decrypt(entry);

        var request = layers.RootElement.GetProperty("request");
        Assert.Equal(
            request.GetProperty("olm_plaintext_key_hex").GetString() + request.GetProperty("olm_plaintext_nonce_hex").GetString(),
            Convert.ToHexStringLower(keyAndNonce));
        Assert.Equal(File.ReadAllBytes(Conformance.Path("ts-sdk", "request-jws.json")), envelope.OpenBody(keyAndNonce));
        Assert.True(session.HasReceivedMessage);
        Assert.Equal(OlmMessageType.Normal, session.NextMessageType);
    }

    [Fact]
    public void RequestEnvelope_OpenThroughGroupEnvelope_GivesExactlyTheRequestJws()
    {
        using var keys = Json("keys.json");
        var account = UserAccountFromCapture(keys);
        OlmSession? created = null;

        var plaintext = GroupEnvelope.Open(
            File.ReadAllBytes(Conformance.Path("ts-sdk", "envelope.json")),
            User,
            entry =>
            {
                created = OlmSession.CreateInbound(account, entry.Body);
                return created.Decrypt(entry);
            });

        Assert.Equal(File.ReadAllBytes(Conformance.Path("ts-sdk", "request-jws.json")), plaintext);
        Assert.True(account.RemoveOneTimeKeys(created!));
    }

    [Fact]
    public void RequestPreKey_ReplayedAfterItsOneTimeKeyWasRemoved_ThrowsUnknownOneTimeKey()
    {
        using var keys = Json("keys.json");
        var account = UserAccountFromCapture(keys);
        var entry = GroupEnvelope.Parse(File.ReadAllBytes(Conformance.Path("ts-sdk", "envelope.json"))).Recipients[User.ToString()];
        var session = OlmSession.CreateInbound(account, entry.Body);
        session.Decrypt(entry);
        var before = account.UnusedOneTimeKeyCount;
        Assert.True(account.RemoveOneTimeKeys(session));
        Assert.Equal(before - 1, account.UnusedOneTimeKeyCount);

        var e = Assert.Throws<OlmException>(() => OlmSession.CreateInbound(account, entry.Body));
        Assert.Equal(CryptoErrorCodes.UnknownOneTimeKey, e.ErrorCode);
        Assert.False(account.RemoveOneTimeKeys(session));
    }

    [Fact]
    public void ResponseEnvelope_OpenedWithTheSdksPickledSession_GivesExactlyTheResponseJws()
    {
        using var pickles = Json("olm-pickles.json");
        using var layers = Json("olm-layers.json");
        var pickled = pickles.RootElement.GetProperty("sdk_outbound_session_with_user_when_request_arrived");
        var session = OlmSession.FromLibolmPickle(
            pickled.GetProperty("pickle").GetString()!,
            Encoding.UTF8.GetBytes(pickled.GetProperty("pickle_key").GetString()!));
        Assert.False(session.HasReceivedMessage);

        var envelope = GroupEnvelope.Parse(File.ReadAllBytes(Conformance.Path("ts-sdk", "envelope-response.json")));
        var entry = envelope.Recipients[App.ToString()];
        Assert.Equal(OlmMessageType.Normal, entry.Type);
        var keyAndNonce = session.Decrypt(entry);

        var response = layers.RootElement.GetProperty("response");
        Assert.Equal(
            response.GetProperty("olm_plaintext_key_hex").GetString() + response.GetProperty("olm_plaintext_nonce_hex").GetString(),
            Convert.ToHexStringLower(keyAndNonce));
        Assert.Equal(File.ReadAllBytes(Conformance.Path("ts-sdk", "response-jws.json")), envelope.OpenBody(keyAndNonce));
        Assert.Equal(OlmMessageType.Normal, session.NextMessageType);
    }

    [Fact]
    public void SdkAccountPickle_WithTheAppSeed_HasTheAppIdentityKeysAndPublishesWhatTheSdkPosted()
    {
        using var keys = Json("keys.json");
        using var pickles = Json("olm-pickles.json");
        var app = keys.RootElement.GetProperty("app");
        var pickled = pickles.RootElement.GetProperty("sdk_account_when_request_arrived");

        var account = OlmAccount.FromLibolmPickle(
            pickled.GetProperty("pickle").GetString()!,
            Encoding.UTF8.GetBytes(pickled.GetProperty("pickle_key").GetString()!),
            Base64Codec.Decode(app.GetProperty("app_ed25519_seed_b64_std_nopad").GetString()!));

        Assert.Equal(app.GetProperty("app_curve25519_identity_key_b64_std_nopad").GetString(), account.IdentityKeys.Curve25519);
        Assert.Equal(100, account.UnusedOneTimeKeyCount);

        // The SDK's pre_keys POST of the same keys: same ids, same order, same JSON size.
        using var post = Json("prekeys-post.json");
        var keysAsPosted = account.GetUnpublishedOneTimeKeys();
        var first = post.RootElement.GetProperty("first_entries").EnumerateArray()
            .Select(e => new OneTimeKey(e.GetProperty("id").GetString()!, e.GetProperty("key").GetString()!));
        var last = post.RootElement.GetProperty("last_entry");
        Assert.Equal(first, keysAsPosted.Take(3));
        Assert.Equal(new OneTimeKey(last.GetProperty("id").GetString()!, last.GetProperty("key").GetString()!), keysAsPosted[^1]);
        var body = account.GetUnpublishedOneTimeKeysJson();
        Assert.Equal(post.RootElement.GetProperty("body_bytes").GetInt32(), body.Length);
        Assert.StartsWith("[{\"id\":\"AAAAZA\",\"key\":\"uP+CBI+9QQDzbBCsJivgzJs87h5ejUNk2gq+TZHKm1c\"},", Encoding.UTF8.GetString(body), StringComparison.Ordinal);

        Assert.Equal(100, account.MarkKeysAsPublished());
        Assert.Empty(account.GetUnpublishedOneTimeKeys());
        Assert.Equal("[]", Encoding.UTF8.GetString(account.GetUnpublishedOneTimeKeysJson()));
    }

    [Fact]
    public void UserAccountPickle_WithTheAppSeed_ThrowsBadPickle()
    {
        using var keys = Json("keys.json");
        using var pickles = Json("olm-pickles.json");
        var pickled = pickles.RootElement.GetProperty("user_account_before_inbound_session");

        var e = Assert.Throws<OlmException>(() => OlmAccount.FromLibolmPickle(
            pickled.GetProperty("pickle").GetString()!,
            Encoding.UTF8.GetBytes(pickled.GetProperty("pickle_key").GetString()!),
            Base64Codec.Decode(keys.RootElement.GetProperty("app").GetProperty("app_ed25519_seed_b64_std_nopad").GetString()!)));
        Assert.Equal(CryptoErrorCodes.BadPickle, e.ErrorCode);
    }

    [Fact]
    public void UserAccountPickle_UnpickledByLibolm_ReportsTheKeysWeDeriveFromTheSeed()
    {
        using var keys = Json("keys.json");
        using var pickles = Json("olm-pickles.json");
        var pickled = pickles.RootElement.GetProperty("user_account_before_inbound_session");
        using var reference = Interop.LibOlmAccount.Unpickle(pickled.GetProperty("pickle").GetString()!, pickled.GetProperty("pickle_key").GetString()!);
        var account = OlmAccount.FromSeed(Base64Codec.Decode(keys.RootElement.GetProperty("user").GetProperty("device_ed25519_seed_b64_std_nopad").GetString()!));

        Assert.Equal((account.IdentityKeys.Curve25519, account.IdentityKeys.Ed25519), reference.IdentityKeys);
    }

    /// <summary>The user's account from the captured libolm pickle (with the served one-time key) and the user's seed.</summary>
    private static OlmAccount UserAccountFromCapture(JsonDocument keys)
    {
        using var pickles = Json("olm-pickles.json");
        var pickled = pickles.RootElement.GetProperty("user_account_before_inbound_session");
        return OlmAccount.FromLibolmPickle(
            pickled.GetProperty("pickle").GetString()!,
            Encoding.UTF8.GetBytes(pickled.GetProperty("pickle_key").GetString()!),
            Base64Codec.Decode(keys.RootElement.GetProperty("user").GetProperty("device_ed25519_seed_b64_std_nopad").GetString()!));
    }

    private static JsonDocument Json(string file) => JsonDocument.Parse(Conformance.ReadText("ts-sdk", file));
}
