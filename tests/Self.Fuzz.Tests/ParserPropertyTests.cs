using System.Text;
using CsCheck;
using Self.Protocol.Encoding;

namespace Self.Fuzz.Tests;

/// <summary>
/// Property-based tests of every parser that reads outside bytes (issue 10): random and mutated inputs never raise
/// anything but the parser's documented refusal. Each target is the fuzz harness's own entry point, so what the fuzzer
/// runs and what the suite checks are the same code. Iterations are bounded to keep the suite fast.
/// </summary>
public sealed class ParserPropertyTests
{
    private const int RandomIterations = 1500;
    private const int MutationIterations = 3000;

    public static TheoryData<string> Targets => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_OverItsSeedCorpus_NeverCrashes(string target)
    {
        var seeds = Seeds.For(target);
        Assert.NotEmpty(seeds);
        Assert.All(seeds, seed => FuzzTargets.All[target](seed));
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_RandomBytes_OnlyDocumentedRefusals(string target) =>
        Mutations.RandomBytes.Sample(FuzzTargets.All[target], iter: RandomIterations);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_RandomText_OnlyDocumentedRefusals(string target) =>
        Mutations.RandomText.Sample(FuzzTargets.All[target], iter: RandomIterations);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_MutatedSeeds_OnlyDocumentedRefusals(string target) =>
        Mutations.Of(Seeds.For(target)).Sample(FuzzTargets.All[target], iter: MutationIterations);

    [Fact]
    public void AuthToken_MutatedClaimsInsideAWellFormedJws_OnlyDocumentedRefusals()
    {
        // The claims are reached only through base64: mutate the JSON itself, then wrap it as the token would be.
        const string Claims = "{\"jti\":\"j\",\"cid\":\"c\",\"iat\":1795858335,\"exp\":1795858400,\"iss\":\"f37e9ec4af9a32d8e9fdad497a8b8ab1\",\"sub\":\"f37e9ec4af9a32d8e9fdad497a8b8ab1\",\"typ\":\"auth.token\"}";
        var header = Base64Codec.EncodeUrl("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"1\"}"u8);
        Mutations.OfText(Claims).Sample(
            claims => FuzzTargets.AuthTokenText(Encoding.UTF8.GetBytes(header + "." + Base64Codec.EncodeUrl(Encoding.UTF8.GetBytes(claims)) + ".AAAA")),
            iter: MutationIterations);
    }

    [Fact]
    public void KeyHistory_MutatedOperationPayloads_OnlyDocumentedRefusals()
    {
        var history = Encoding.UTF8.GetString(Seeds.For("key-history")[0]);
        using var document = System.Text.Json.JsonDocument.Parse(history);
        var first = document.RootElement[0];
        var payload = Encoding.UTF8.GetString(Base64Codec.Decode(first.GetProperty("payload").GetString()!));
        var protectedHeader = first.GetProperty("protected").GetString()!;
        var signature = first.GetProperty("signature").GetString()!;
        Mutations.OfText(payload).Sample(
            mutated =>
            {
                var operation = $"{{\"payload\":\"{Base64Codec.EncodeUrl(Encoding.UTF8.GetBytes(mutated))}\",\"protected\":\"{protectedHeader}\",\"signature\":\"{signature}\"}}";
                FuzzTargets.KeyHistoryJson(Encoding.UTF8.GetBytes("[" + operation + "]"));
                FuzzTargets.RestBody(Encoding.UTF8.GetBytes("{\"history\":[" + operation + "]}"));
            },
            iter: MutationIterations);
    }

    [Fact]
    public void Envelope_MutatedJson_OnlyDocumentedRefusals()
    {
        var envelope = Encoding.UTF8.GetString(Seeds.For("envelope")[0]);
        Mutations.OfText(envelope).Sample(static text => FuzzTargets.Envelope(Encoding.UTF8.GetBytes(text)), iter: MutationIterations);
    }
}
