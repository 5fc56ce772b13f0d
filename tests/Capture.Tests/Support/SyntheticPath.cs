using System.Net;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Support;

/// <summary>One capture point of a synthetic path and the clock error of its node.</summary>
/// <param name="RequestDirection">What the kernel would report for the request there (the reply's is the opposite); Unknown writes none.</param>
internal sealed record SyntheticPoint(string Node, string Iface, string Role, long ClockOffsetNs = 0,
    PacketDirection RequestDirection = PacketDirection.Unknown);

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

    /// <summary>File format of every point's capture.</summary>
    public PcapFormat Format { get; init; } = PcapFormat.Nanosecond;

    /// <summary>Link type (1 Ethernet, 113 Linux SLL, 276 Linux SLL2).</summary>
    public int LinkType { get; init; } = 1;

    public int Snaplen { get; init; } = 262_144;

    /// <summary>802.1Q tag on every frame; 0 = untagged.</summary>
    public ushort Vlan { get; init; }

    /// <summary>Extra clock offset of a node from probe k on (a clock step); 0 = none.</summary>
    public Func<int, string, long> ClockStepNs { get; init; } = static (_, _) => 0;

    /// <summary>Writes one capture file per point; returns the file paths in point order.</summary>
    public IReadOnlyList<string> WritePcaps(string directory, int probes, long startNs, long intervalNs, ushort icmpId = 4242)
    {
        Directory.CreateDirectory(directory);
        var files = Points.Select((p, i) => Path.Combine(directory, $"{i}-{p.Node}-{p.Iface}.{(Format == PcapFormat.Pcapng ? "pcapng" : "pcap")}")).ToArray();
        var builders = files.Select(f => new PcapFileBuilder(f, Snaplen, Format, LinkType)).ToArray();
        if (Format == PcapFormat.Pcapng)
        {
            for (var i = 0; i < builders.Length; i++)
            {
                builders[i].AddInterface(Points[i].Iface, LinkType);
            }
        }

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
                    var direction = Points[i].RequestDirection;
                    builders[i].AddEcho(requestAt[i] + offset, src, dst, request: true, icmpId, seq, payload, direction, vlan: Vlan);
                    if (lostAfter is null)
                    {
                        builders[i].AddEcho(replyAt[i] + offset, dst, src, request: false, icmpId, seq, payload, Opposite(direction), vlan: Vlan);
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

        return files;
    }

    private static PacketDirection Opposite(PacketDirection direction) => direction switch
    {
        PacketDirection.In => PacketDirection.Out,
        PacketDirection.Out => PacketDirection.In,
        _ => PacketDirection.Unknown,
    };

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

    /// <summary>The same six points with the directions their kernels report (as tcpdump -i any or pcapng records them).</summary>
    public static IReadOnlyList<SyntheticPoint> Report003PointsWithDirection { get; } =
    [
        Report003Points[0] with { RequestDirection = PacketDirection.Out },
        Report003Points[1] with { RequestDirection = PacketDirection.In },
        Report003Points[2] with { RequestDirection = PacketDirection.Out },
        Report003Points[3] with { RequestDirection = PacketDirection.In },
        Report003Points[4] with { RequestDirection = PacketDirection.Out },
        Report003Points[5] with { RequestDirection = PacketDirection.In },
    ];
}
