using System.Text;
using CsCheck;

namespace Self.Fuzz.Tests;

/// <summary>Random inputs, and inputs mutated from valid ones the way a fuzzer would (bit flips, cuts, inserted tokens).</summary>
internal static class Mutations
{
    /// <summary>Tokens that have broken parsers before: lone surrogates, extreme numbers, NUL, structure characters.</summary>
    private static readonly byte[][] Dictionary =
    [
        .. new[]
        {
            "\\ud800", "\\udfff", "\\u0000", "\"", "{", "}", "[", "]", ",", ":", "\\", "null", "true", "-1", "0",
            "99999999999999999999999", "-62135596800", "253402300800", "1e308", "-1e308", "NaN", "\"iss\":\"x\",",
            "\"history\":[],", "%00", "%ZZ", "?qr=", "&link=", "=", ".", "..", "AAAA", "////", "____", "\r\n",
        }.Select(static t => Encoding.UTF8.GetBytes(t)),
        [0xff, 0xfe], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0, 0, 0, 0], [0xff, 0xff, 0xff, 0x7f],
    ];

    /// <summary>Arbitrary bytes.</summary>
    public static Gen<byte[]> RandomBytes { get; } = Gen.Byte.Array[0, 600];

    /// <summary>Arbitrary text of printable and structural characters, as UTF-8.</summary>
    public static Gen<byte[]> RandomText { get; } = Gen.Char["{}[]\":,.\\-_=?&%/0123456789abcdefABCDEFuEdDSAiksptxyz "].Array[0, 300].Select(static c => Encoding.UTF8.GetBytes(c));

    /// <summary>One of <paramref name="seeds"/>, changed by one to eight random edits.</summary>
    public static Gen<byte[]> Of(IReadOnlyList<byte[]> seeds) =>
        Gen.Select(Gen.Int[0, seeds.Count - 1], Gen.Select(Gen.Int[0, 6], Gen.Int[0, int.MaxValue], Gen.Byte).Array[1, 8], (i, edits) => Apply(seeds[i], edits));

    /// <summary>Text <paramref name="json"/>, changed as in <see cref="Of"/>, as a string (for JSON inside a JWS).</summary>
    public static Gen<string> OfText(string json) =>
        Of([Encoding.UTF8.GetBytes(json)]).Select(static b => Encoding.UTF8.GetString(b));

    private static byte[] Apply(byte[] seed, (int Op, int Position, byte Value)[] edits)
    {
        var data = new List<byte>(seed);
        foreach (var (op, position, value) in edits)
        {
            var at = data.Count == 0 ? 0 : position % (data.Count + 1);
            switch (op)
            {
                case 0 when at < data.Count:
                    data[at] ^= (byte)(1 << (value & 7));
                    break;
                case 1 when at < data.Count:
                    data[at] = value;
                    break;
                case 2:
                    data.Insert(at, value);
                    break;
                case 3 when at < data.Count:
                    data.RemoveAt(at);
                    break;
                case 4:
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 5:
                    data.InsertRange(at, Dictionary[value % Dictionary.Length]);
                    break;
                case 6 when data.Count > 0:
                    // Repeat a slice: duplicated members, doubled fields.
                    var start = value % data.Count;
                    var length = Math.Min(data.Count - start, 1 + (position % 64));
                    data.InsertRange(at, data.GetRange(start, length));
                    break;
            }
        }

        return [.. data];
    }
}
