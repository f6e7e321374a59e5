using Self.EndToEnd.Bench;

namespace Self.Oidc.Bench;

/// <summary>CPU milliseconds per completed flow of each process: the network, the devices, this one (provider and relying parties).</summary>
internal sealed record CpuPerFlow(double Network, double Devices, double Provider)
{
    public static (TimeSpan Network, TimeSpan Devices, TimeSpan Provider) Read(int network, int devices) =>
        (ProcessStats.CpuTime(network), ProcessStats.CpuTime(devices), ProcessStats.CpuTime(ProcessStats.CurrentPid));

    public static CpuPerFlow Since((TimeSpan Network, TimeSpan Devices, TimeSpan Provider) before, int network, int devices, int flows)
    {
        var now = Read(network, devices);
        double Per(TimeSpan used) => flows == 0 ? double.NaN : used.TotalMilliseconds / flows;
        return new CpuPerFlow(Per(now.Network - before.Network), Per(now.Devices - before.Devices), Per(now.Provider - before.Provider));
    }
}
