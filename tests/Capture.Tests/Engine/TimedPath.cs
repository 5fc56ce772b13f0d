using HopCapture.Engine.Correlation;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Engine;

/// <summary>
/// Pings along field report 003's six points with chosen one-way hop delays per leg and a clock
/// per node (true time + offset, which may change per probe to model a step), fed straight into
/// the engine of an <see cref="EngineScenario"/>.
/// </summary>
internal sealed class TimedPath
{
    public const long IntervalNs = 20_000_000;
    public static readonly string[] Nodes = ["vm_a", "nc1", "nc1", "nc2", "nc2", "vm_b"];

    public EngineScenario Lab { get; } = new();

    /// <summary>One-way delay of hop h (point h → h+1) for probe k on the request (true) or reply leg.</summary>
    public Func<int, int, bool, long> HopDelayNs { get; init; } = Idle;

    /// <summary>Clock offset of a node while probe k crosses it.</summary>
    public Func<string, int, long> ClockOffsetNs { get; init; } = static (_, _) => 0;

    /// <summary>A few µs of deterministic jitter around 25 µs, like veth hops on a quiet host.</summary>
    public static long Idle(int probe, int hop, bool request) => 25_000 + (probe * 7 + hop * 3 + (request ? 0 : 5)) % 11 * 1_000;

    public List<ProbeResult> Run(int probes)
    {
        var ifaces = new[] { Lab.GuestA, Lab.VifA, Lab.NicA, Lab.NicB, Lab.VifB, Lab.GuestB };
        var results = new List<ProbeResult>();
        var start = EngineScenario.At("00.000000");
        for (var k = 0; k < probes; k++)
        {
            var seq = (ushort)(k + 1);
            var request = new long[6];
            var reply = new long[6];
            var t = start + k * IntervalNs;
            for (var i = 0; i < 6; i++)
            {
                request[i] = t;
                t += i < 5 ? HopDelayNs(k, i, true) : 15_000;
            }

            for (var i = 5; i >= 0; i--)
            {
                reply[i] = t;
                t += i > 0 ? HopDelayNs(k, i - 1, false) : 0;
            }

            for (var i = 0; i < 6; i++)
            {
                var offset = ClockOffsetNs(Nodes[i], k);
                Lab.Engine.Add(new Observation(ifaces[i], request[i] + offset, EngineScenario.VmA, EngineScenario.VmB, 21616, seq, 7,
                    EchoType.Request, Lab.RequestDirection(ifaces[i])), Lab.ArrivalNs);
                Lab.Engine.Add(new Observation(ifaces[i], reply[i] + offset, EngineScenario.VmB, EngineScenario.VmA, 21616, seq, 7,
                    EchoType.Reply, Opposite(Lab.RequestDirection(ifaces[i]))), Lab.ArrivalNs);
            }

            // Probes finalise one by one, as they do live, so each is split with what came before.
            results.AddRange(Lab.AdvanceBy(TimeSpan.FromSeconds(6)));
        }

        return results;
    }

    private static PacketDirection Opposite(PacketDirection direction) => direction switch
    {
        PacketDirection.In => PacketDirection.Out,
        PacketDirection.Out => PacketDirection.In,
        _ => PacketDirection.Unknown,
    };
}
