using System.Globalization;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Engine;

/// <summary>
/// Field report 003's path (vm_a → vm_b across two hypervisors) as catalog entries, and a
/// shorthand for observations on it. Times are written as in the report's tcpdump lines.
/// </summary>
internal sealed class EngineScenario
{
    public static readonly UInt128 VmA = IpAddress128.FromBytes([192, 168, 47, 111]);
    public static readonly UInt128 VmB = IpAddress128.FromBytes([192, 168, 47, 127]);

    // 2017-04-26 19:53:00 UTC; the report gives seconds within that minute.
    private const long MinuteNs = 1_493_236_380L * 1_000_000_000;

    public EngineScenario(EngineOptions? options = null, bool withDirections = true)
    {
        WithDirections = withDirections;
        Engine = new CorrelationEngine(options ?? new EngineOptions(), Catalog);
        GuestA = Catalog.Register("vm_a", "eth0", null, PointRole.Guest).Id;
        VifA = Catalog.Register("nc1", "023471", null, PointRole.Vif).Id;
        NicA = Catalog.Register("nc1", "eth0", null, PointRole.Nic).Id;
        NicB = Catalog.Register("nc2", "eth0", null, PointRole.Nic).Id;
        VifB = Catalog.Register("nc2", "061606", null, PointRole.Vif).Id;
        GuestB = Catalog.Register("vm_b", "eth0", null, PointRole.Guest).Id;
    }

    public InterfaceCatalog Catalog { get; } = new();

    public CorrelationEngine Engine { get; }

    public bool WithDirections { get; }

    public int GuestA { get; }

    public int VifA { get; }

    public int NicA { get; }

    public int NicB { get; }

    public int VifB { get; }

    public int GuestB { get; }

    public long ArrivalNs { get; set; } = 1_000_000_000;

    public static long At(string secondsInMinute) =>
        MinuteNs + (long)Math.Round(decimal.Parse(secondsInMinute, CultureInfo.InvariantCulture) * 1_000_000_000m);

    /// <summary>Where the request is outbound: sender-side guests and NICs, responder-side vifs.</summary>
    public PacketDirection RequestDirection(int iface)
    {
        if (!WithDirections)
        {
            return PacketDirection.Unknown;
        }

        return iface == GuestA || iface == NicA || iface == VifB ? PacketDirection.Out : PacketDirection.In;
    }

    public void Request(int iface, string at, ushort seq = 110, ushort id = 21616, uint hash = 0xBEEF) =>
        Engine.Add(new Observation(iface, At(at), VmA, VmB, id, seq, hash, EchoType.Request, RequestDirection(iface)), ArrivalNs);

    public void Reply(int iface, string at, ushort seq = 110, ushort id = 21616, uint hash = 0xBEEF)
    {
        var direction = RequestDirection(iface) switch
        {
            PacketDirection.In => PacketDirection.Out,
            PacketDirection.Out => PacketDirection.In,
            _ => PacketDirection.Unknown,
        };
        Engine.Add(new Observation(iface, At(at), VmB, VmA, id, seq, hash, EchoType.Reply, direction), ArrivalNs);
    }

    /// <summary>The six captures of icmp_seq 110 exactly as the report lists them.</summary>
    public void Report003(ushort seq = 110, uint hash = 0xBEEF, bool guests = true, bool nics = true)
    {
        if (guests)
        {
            Request(GuestA, "08.851499", seq, hash: hash);
            Reply(GuestA, "08.972053", seq, hash: hash);
        }

        Request(VifA, "08.850975", seq, hash: hash);
        Reply(VifA, "08.971458", seq, hash: hash);
        if (nics)
        {
            Request(NicA, "08.850991", seq, hash: hash);
            Reply(NicA, "08.971440", seq, hash: hash);
            Request(NicB, "08.851171", seq, hash: hash);
            Reply(NicB, "08.851255", seq, hash: hash);
        }

        Request(VifB, "08.851188", seq, hash: hash);
        Reply(VifB, "08.851241", seq, hash: hash);
        if (guests)
        {
            Request(GuestB, "08.850831", seq, hash: hash);
            Reply(GuestB, "08.850846", seq, hash: hash);
        }
    }

    /// <summary>Moves arrival time on and returns what finalised by then.</summary>
    public List<ProbeResult> AdvanceBy(TimeSpan elapsed)
    {
        ArrivalNs += (long)elapsed.TotalNanoseconds;
        var results = new List<ProbeResult>();
        Engine.Advance(ArrivalNs, results);
        return results;
    }

    public ProbeResult Single(TimeSpan? elapsed = null)
    {
        var results = AdvanceBy(elapsed ?? TimeSpan.FromSeconds(10));
        Assert.That(results, Has.Count.EqualTo(1), "exactly one probe should finalise");
        return results[0];
    }

    public string NodeOf(PointView point) => Catalog.Point(point.PointId).Node + "/" + Catalog.Point(point.PointId).Point;
}
