using System.Net;

namespace HopCapture.Tests.Support;

/// <summary>One capture point of a synthetic path and the clock error of its node.</summary>
internal sealed record SyntheticPoint(string Node, string Iface, string Role, long ClockOffsetNs = 0);

/// <summary>
/// Generates the captures a ping along a path leaves at every point: for probe k the request
/// crosses the points in order, the responder turns it round, the reply crosses them backwards.
/// Each point stamps with its own node clock (true time + offset), as real hosts do.
/// </summary>
internal sealed class SyntheticPath(IReadOnlyList<SyntheticPoint> points, IPAddress src, IPAddress dst)
{
    public IReadOnlyList<SyntheticPoint> Points { get; } = points;

    /// <summary>One-way delay between point i and i+1, per leg; defaults to 20 µs.</summary>
    public Func<int, int, bool, long> HopDelayNs { get; init; } = static (_, _, _) => 20_000;

    /// <summary>Responder turnaround after the last point.</summary>
    public long TurnaroundNs { get; init; } = 15_000;

    /// <summary>Probes whose request is dropped after point index (value); absent = delivered.</summary>
    public Func<int, int?> RequestLostAfter { get; init; } = static _ => null;

    /// <summary>Extra clock offset of a node from probe k on (a clock step); 0 = none.</summary>
    public Func<int, string, long> ClockStepNs { get; init; } = static (_, _) => 0;

    /// <summary>Writes one pcap per point; returns the file paths in point order.</summary>
    public IReadOnlyList<string> WritePcaps(string directory, int probes, long startNs, long intervalNs, ushort icmpId = 4242)
    {
        Directory.CreateDirectory(directory);
        var builders = Points.Select((p, i) => new PcapFileBuilder(Path.Combine(directory, $"{i}-{p.Node}-{p.Iface}.pcap"))).ToArray();
        try
        {
            for (var k = 0; k < probes; k++)
            {
                var seq = (ushort)(k + 1);
                var t = startNs + k * intervalNs;
                var requestAt = new long[Points.Count];
                var lostAfter = RequestLostAfter(k);
                var reached = lostAfter ?? Points.Count - 1;
                for (var i = 0; i <= reached; i++)
                {
                    requestAt[i] = t;
                    if (i < Points.Count - 1)
                    {
                        t += HopDelayNs(k, i, true);
                    }
                }

                var replyAt = new long[Points.Count];
                if (lostAfter is null)
                {
                    t = requestAt[^1] + TurnaroundNs;
                    for (var i = Points.Count - 1; i >= 0; i--)
                    {
                        replyAt[i] = t;
                        if (i > 0)
                        {
                            t += HopDelayNs(k, i - 1, false);
                        }
                    }
                }

                var payload = (ulong)k * 0x9E3779B97F4A7C15UL;
                for (var i = 0; i <= reached; i++)
                {
                    var offset = Points[i].ClockOffsetNs + ClockStepNs(k, Points[i].Node);
                    builders[i].AddEcho(requestAt[i] + offset, src, dst, request: true, icmpId, seq, payload);
                    if (lostAfter is null)
                    {
                        builders[i].AddEcho(replyAt[i] + offset, dst, src, request: false, icmpId, seq, payload);
                    }
                }
            }
        }
        finally
        {
            foreach (var builder in builders)
            {
                builder.Dispose();
            }
        }

        return Points.Select((p, i) => Path.Combine(directory, $"{i}-{p.Node}-{p.Iface}.pcap")).ToArray();
    }

    /// <summary>Field report 003's six points, guest clocks ~0.5 ms off their hosts as in the report.</summary>
    public static IReadOnlyList<SyntheticPoint> Report003Points { get; } =
    [
        new("vm_a", "eth0", "guest", -520_000),
        new("nc1", "023471", "vif"),
        new("nc1", "eth0", "nic"),
        new("nc2", "eth0", "nic", 180_000),
        new("nc2", "061606", "vif", 180_000),
        new("vm_b", "eth0", "guest", -340_000),
    ];
}
