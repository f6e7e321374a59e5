using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Self.Crypto.Tests.Interop;

/// <summary>
/// Debian's libolm 3 (the reference implementation), called directly. Test-only: the product never loads it.
/// </summary>
internal static class LibOlm
{
    public const string Library = "libolm.so.3";

    private static readonly Lazy<string?> LoadError = new(() =>
        NativeLibrary.TryLoad(Library, out _) ? null : $"{Library} could not be loaded. Install it: apt-get install libolm3");

    /// <summary>Fails the calling test (never skips it) when libolm is not installed.</summary>
    public static void Require()
    {
        if (LoadError.Value is { } error)
        {
            Assert.Fail(error);
        }
    }

    public static nuint Error => Native.olm_error();

    internal static class Native
    {
        [DllImport(Library)] public static extern nuint olm_error();
        [DllImport(Library)] public static extern nuint olm_account_size();
        [DllImport(Library)] public static extern IntPtr olm_account(IntPtr memory);
        [DllImport(Library)] public static extern IntPtr olm_account_last_error(IntPtr account);
        [DllImport(Library)] public static extern nuint olm_clear_account(IntPtr account);
        [DllImport(Library)] public static extern nuint olm_create_account_random_length(IntPtr account);
        [DllImport(Library)] public static extern nuint olm_create_account(IntPtr account, byte[] random, nuint randomLength);
        [DllImport(Library)] public static extern nuint olm_account_identity_keys_length(IntPtr account);
        [DllImport(Library)] public static extern nuint olm_account_identity_keys(IntPtr account, byte[] output, nuint length);
        [DllImport(Library)] public static extern nuint olm_account_generate_one_time_keys_random_length(IntPtr account, nuint count);
        [DllImport(Library)] public static extern nuint olm_account_generate_one_time_keys(IntPtr account, nuint count, byte[] random, nuint randomLength);
        [DllImport(Library)] public static extern nuint olm_account_one_time_keys_length(IntPtr account);
        [DllImport(Library)] public static extern nuint olm_account_one_time_keys(IntPtr account, byte[] output, nuint length);
        [DllImport(Library)] public static extern nuint olm_account_mark_keys_as_published(IntPtr account);
        [DllImport(Library)] public static extern nuint olm_pickle_account_length(IntPtr account);
        [DllImport(Library)] public static extern nuint olm_pickle_account(IntPtr account, byte[] key, nuint keyLength, byte[] output, nuint length);
        [DllImport(Library)] public static extern nuint olm_unpickle_account(IntPtr account, byte[] key, nuint keyLength, byte[] pickled, nuint length);
        [DllImport(Library)] public static extern nuint olm_remove_one_time_keys(IntPtr account, IntPtr session);

        [DllImport(Library)] public static extern nuint olm_session_size();
        [DllImport(Library)] public static extern IntPtr olm_session(IntPtr memory);
        [DllImport(Library)] public static extern IntPtr olm_session_last_error(IntPtr session);
        [DllImport(Library)] public static extern nuint olm_clear_session(IntPtr session);
        [DllImport(Library)] public static extern nuint olm_create_outbound_session_random_length(IntPtr session);
        [DllImport(Library)] public static extern nuint olm_create_outbound_session(
            IntPtr session, IntPtr account, byte[] identityKey, nuint identityKeyLength, byte[] oneTimeKey, nuint oneTimeKeyLength, byte[] random, nuint randomLength);
        [DllImport(Library)] public static extern nuint olm_create_inbound_session(IntPtr session, IntPtr account, byte[] message, nuint length);
        [DllImport(Library)] public static extern nuint olm_session_id_length(IntPtr session);
        [DllImport(Library)] public static extern nuint olm_session_id(IntPtr session, byte[] output, nuint length);
        [DllImport(Library)] public static extern nuint olm_matches_inbound_session(IntPtr session, byte[] message, nuint length);
        [DllImport(Library)] public static extern nuint olm_encrypt_message_type(IntPtr session);
        [DllImport(Library)] public static extern nuint olm_encrypt_random_length(IntPtr session);
        [DllImport(Library)] public static extern nuint olm_encrypt_message_length(IntPtr session, nuint plaintextLength);
        [DllImport(Library)] public static extern nuint olm_encrypt(IntPtr session, byte[] plaintext, nuint plaintextLength, byte[] random, nuint randomLength, byte[] output, nuint length);
        [DllImport(Library)] public static extern nuint olm_decrypt_max_plaintext_length(IntPtr session, nuint type, byte[] message, nuint length);
        [DllImport(Library)] public static extern nuint olm_decrypt(IntPtr session, nuint type, byte[] message, nuint length, byte[] plaintext, nuint maxLength);
        [DllImport(Library)] public static extern nuint olm_pickle_session_length(IntPtr session);
        [DllImport(Library)] public static extern nuint olm_pickle_session(IntPtr session, byte[] key, nuint keyLength, byte[] output, nuint length);
        [DllImport(Library)] public static extern nuint olm_unpickle_session(IntPtr session, byte[] key, nuint keyLength, byte[] pickled, nuint length);

        [DllImport(Library)] public static extern nuint olm_pk_decryption_size();
        [DllImport(Library)] public static extern IntPtr olm_pk_decryption(IntPtr memory);
        [DllImport(Library)] public static extern IntPtr olm_pk_decryption_last_error(IntPtr decryption);
        [DllImport(Library)] public static extern nuint olm_clear_pk_decryption(IntPtr decryption);
        [DllImport(Library)] public static extern nuint olm_pk_key_length();
        [DllImport(Library)] public static extern nuint olm_pk_key_from_private(IntPtr decryption, byte[] publicKey, nuint publicKeyLength, byte[] privateKey, nuint privateKeyLength);
    }

    internal static byte[] Random(nuint length)
    {
        var random = new byte[(int)length];
        RandomNumberGenerator.Fill(random);
        return random;
    }

    internal static string Text(byte[] buffer, nuint length) => Encoding.ASCII.GetString(buffer, 0, (int)length);

    internal static void Check(nuint result, Func<IntPtr> lastError, string what)
    {
        if (result == Error)
        {
            throw new LibOlmException($"{what}: {Marshal.PtrToStringAnsi(lastError())}");
        }
    }

    /// <summary>
    /// What libolm computes as the Curve25519 public key of a private key (<c>olm_pk_key_from_private</c>,
    /// curve25519-donna), in base64.
    /// </summary>
    public static string Curve25519PublicFromPrivate(byte[] privateKey)
    {
        Require();
        var memory = Marshal.AllocHGlobal((nint)Native.olm_pk_decryption_size());
        try
        {
            var decryption = Native.olm_pk_decryption(memory);
            var output = new byte[(int)Native.olm_pk_key_length()];
            var result = Native.olm_pk_key_from_private(decryption, output, (nuint)output.Length, (byte[])privateKey.Clone(), (nuint)privateKey.Length);
            Check(result, () => Native.olm_pk_decryption_last_error(decryption), "olm_pk_key_from_private");
            Native.olm_clear_pk_decryption(decryption);
            return Encoding.ASCII.GetString(output);
        }
        finally
        {
            Marshal.FreeHGlobal(memory);
        }
    }
}

internal sealed class LibOlmException(string message) : Exception(message);

/// <summary>A libolm account (random keys, as libolm makes them).</summary>
internal sealed class LibOlmAccount : IDisposable
{
    private readonly IntPtr _memory;

    private LibOlmAccount()
    {
        LibOlm.Require();
        _memory = Marshal.AllocHGlobal((nint)LibOlm.Native.olm_account_size());
        Handle = LibOlm.Native.olm_account(_memory);
    }

    public IntPtr Handle { get; }

    public static LibOlmAccount Create()
    {
        var account = new LibOlmAccount();
        var random = LibOlm.Random(LibOlm.Native.olm_create_account_random_length(account.Handle));
        account.Check(LibOlm.Native.olm_create_account(account.Handle, random, (nuint)random.Length), "olm_create_account");
        return account;
    }

    public static LibOlmAccount Unpickle(string pickle, string key)
    {
        var account = new LibOlmAccount();
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var pickled = Encoding.ASCII.GetBytes(pickle);
        account.Check(LibOlm.Native.olm_unpickle_account(account.Handle, keyBytes, (nuint)keyBytes.Length, pickled, (nuint)pickled.Length), "olm_unpickle_account");
        return account;
    }

    /// <summary>(curve25519, ed25519) as libolm reports them.</summary>
    public (string Curve25519, string Ed25519) IdentityKeys
    {
        get
        {
            var output = new byte[(int)LibOlm.Native.olm_account_identity_keys_length(Handle)];
            var length = LibOlm.Native.olm_account_identity_keys(Handle, output, (nuint)output.Length);
            Check(length, "olm_account_identity_keys");
            using var json = JsonDocument.Parse(LibOlm.Text(output, length));
            return (json.RootElement.GetProperty("curve25519").GetString()!, json.RootElement.GetProperty("ed25519").GetString()!);
        }
    }

    public void GenerateOneTimeKeys(int count)
    {
        var random = LibOlm.Random(LibOlm.Native.olm_account_generate_one_time_keys_random_length(Handle, (nuint)count));
        Check(LibOlm.Native.olm_account_generate_one_time_keys(Handle, (nuint)count, random, (nuint)random.Length), "olm_account_generate_one_time_keys");
    }

    /// <summary>The unpublished one-time keys as (id, key), in libolm's order.</summary>
    public List<(string Id, string Key)> OneTimeKeys()
    {
        var output = new byte[(int)LibOlm.Native.olm_account_one_time_keys_length(Handle)];
        var length = LibOlm.Native.olm_account_one_time_keys(Handle, output, (nuint)output.Length);
        Check(length, "olm_account_one_time_keys");
        using var json = JsonDocument.Parse(LibOlm.Text(output, length));
        return json.RootElement.GetProperty("curve25519").EnumerateObject().Select(p => (p.Name, p.Value.GetString()!)).ToList();
    }

    public void MarkKeysAsPublished() => LibOlm.Native.olm_account_mark_keys_as_published(Handle);

    public void RemoveOneTimeKeys(LibOlmSession session) =>
        Check(LibOlm.Native.olm_remove_one_time_keys(Handle, session.Handle), "olm_remove_one_time_keys");

    public void Check(nuint result, string what) => LibOlm.Check(result, () => LibOlm.Native.olm_account_last_error(Handle), what);

    public void Dispose()
    {
        LibOlm.Native.olm_clear_account(Handle);
        Marshal.FreeHGlobal(_memory);
    }
}

/// <summary>A libolm session.</summary>
internal sealed class LibOlmSession : IDisposable
{
    private readonly IntPtr _memory;

    private LibOlmSession()
    {
        LibOlm.Require();
        _memory = Marshal.AllocHGlobal((nint)LibOlm.Native.olm_session_size());
        Handle = LibOlm.Native.olm_session(_memory);
    }

    public IntPtr Handle { get; }

    public static LibOlmSession CreateOutbound(LibOlmAccount account, string theirIdentityKey, string theirOneTimeKey)
    {
        var session = new LibOlmSession();
        var random = LibOlm.Random(LibOlm.Native.olm_create_outbound_session_random_length(session.Handle));
        var identity = Encoding.ASCII.GetBytes(theirIdentityKey);
        var oneTime = Encoding.ASCII.GetBytes(theirOneTimeKey);
        session.Check(
            LibOlm.Native.olm_create_outbound_session(session.Handle, account.Handle, identity, (nuint)identity.Length, oneTime, (nuint)oneTime.Length, random, (nuint)random.Length),
            "olm_create_outbound_session");
        return session;
    }

    public static LibOlmSession CreateInbound(LibOlmAccount account, string preKeyMessage)
    {
        var session = new LibOlmSession();
        var message = Encoding.ASCII.GetBytes(preKeyMessage);
        session.Check(LibOlm.Native.olm_create_inbound_session(session.Handle, account.Handle, message, (nuint)message.Length), "olm_create_inbound_session");
        return session;
    }

    public static LibOlmSession Unpickle(string pickle, string key)
    {
        var session = new LibOlmSession();
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var pickled = Encoding.ASCII.GetBytes(pickle);
        session.Check(LibOlm.Native.olm_unpickle_session(session.Handle, keyBytes, (nuint)keyBytes.Length, pickled, (nuint)pickled.Length), "olm_unpickle_session");
        return session;
    }

    public string SessionId
    {
        get
        {
            var output = new byte[(int)LibOlm.Native.olm_session_id_length(Handle)];
            var length = LibOlm.Native.olm_session_id(Handle, output, (nuint)output.Length);
            Check(length, "olm_session_id");
            return LibOlm.Text(output, length);
        }
    }

    public bool MatchesInboundSession(string preKeyMessage)
    {
        var message = Encoding.ASCII.GetBytes(preKeyMessage);
        var result = LibOlm.Native.olm_matches_inbound_session(Handle, message, (nuint)message.Length);
        Check(result, "olm_matches_inbound_session");
        return result == 1;
    }

    public (int Type, string Body) Encrypt(byte[] plaintext)
    {
        var type = (int)LibOlm.Native.olm_encrypt_message_type(Handle);
        var random = LibOlm.Random(LibOlm.Native.olm_encrypt_random_length(Handle));
        var output = new byte[(int)LibOlm.Native.olm_encrypt_message_length(Handle, (nuint)plaintext.Length)];
        var length = LibOlm.Native.olm_encrypt(Handle, plaintext, (nuint)plaintext.Length, random, (nuint)random.Length, output, (nuint)output.Length);
        Check(length, "olm_encrypt");
        return (type, LibOlm.Text(output, length));
    }

    public byte[] Decrypt(int type, string body)
    {
        var forLength = Encoding.ASCII.GetBytes(body);
        var max = LibOlm.Native.olm_decrypt_max_plaintext_length(Handle, (nuint)type, forLength, (nuint)forLength.Length);
        Check(max, "olm_decrypt_max_plaintext_length");
        var message = Encoding.ASCII.GetBytes(body);
        var plaintext = new byte[(int)max];
        var length = LibOlm.Native.olm_decrypt(Handle, (nuint)type, message, (nuint)message.Length, plaintext, max);
        Check(length, "olm_decrypt");
        return plaintext[..(int)length];
    }

    public string Pickle(string key)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var output = new byte[(int)LibOlm.Native.olm_pickle_session_length(Handle)];
        var length = LibOlm.Native.olm_pickle_session(Handle, keyBytes, (nuint)keyBytes.Length, output, (nuint)output.Length);
        Check(length, "olm_pickle_session");
        return LibOlm.Text(output, length);
    }

    private void Check(nuint result, string what) => LibOlm.Check(result, () => LibOlm.Native.olm_session_last_error(Handle), what);

    public void Dispose()
    {
        LibOlm.Native.olm_clear_session(Handle);
        Marshal.FreeHGlobal(_memory);
    }
}
