using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Self.EndToEnd.Tests.Infrastructure;

/// <summary>The table in docs/log-event-ids.md: one range per assembly, no id used twice.</summary>
public sealed class LogEventIdTests
{
    private static readonly (string Assembly, int First, int Last)[] Ranges =
    [
        ("Self.Network", 1000, 1999),
        ("Self.Messaging", 2000, 2999),
        ("Self.Sdk", 4000, 4999),
        ("Self.Device", 5000, 5999),
        ("Self.Network.Nats", 6000, 6999),
        ("Self.Network.PostgreSql", 7000, 7999),
    ];

    [Fact]
    public void EveryLogClass_IdsInItsAssemblysRange_AndUnique()
    {
        var seen = new Dictionary<int, string>();
        foreach (var (name, first, last) in Ranges)
        {
            var log = Assembly.Load(name).GetType(name + ".Log", throwOnError: true)!;
            var ids = log.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                .Select(m => (Method: m.Name, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
                .Where(m => m.Attribute is not null)
                .ToList();

            Assert.NotEmpty(ids);
            foreach (var (method, attribute) in ids)
            {
                Assert.True(attribute!.EventId >= first && attribute.EventId <= last, $"{name}.Log.{method} uses {attribute.EventId}, outside {first}–{last}");
                Assert.True(seen.TryAdd(attribute.EventId, $"{name}.Log.{method}"), $"{name}.Log.{method} reuses {attribute.EventId} of {seen.GetValueOrDefault(attribute.EventId)}");
            }
        }
    }
}
