using HopCapture.Protos;

namespace HopCapture.Tests.Support;

/// <summary>Correlated probes as the engine stores them, for tests that start past the engine (alerts, metrics).</summary>
public static class Records
{
    private static long _nextId;

    /// <summary>
    /// An answered probe on the two-hypervisor path of field report 003 (guest, vif, nic on each
    /// side) whose segment <paramref name="slowKind"/> cost <paramref name="slowMs"/>; the others
    /// cost tens of µs.
    /// </summary>
    public static ProbeRecord Answered(string src, string dst, string slowKind = "fabric", double slowMs = 0.05, string slowSide = "sender")
    {
        var record = Base(src, dst);
        record.Answered = true;
        string[] kinds = ["vif", "nic", "fabric", "nic", "vif", "remote"];
        var slowIndex = slowKind switch
        {
            "fabric" => 2,
            "remote" => 5,
            _ => slowSide == "sender" ? Array.IndexOf(kinds, slowKind) : Array.LastIndexOf(kinds, slowKind),
        };
        long total = 0;
        for (var i = 0; i < kinds.Length; i++)
        {
            var cost = i == slowIndex ? (long)(slowMs * 1e6) : 20_000;
            total += cost;
            record.Segments.Add(new Segment { FromPoint = i, ToPoint = i == kinds.Length - 1 ? -1 : i + 1, Kind = kinds[i], CostNs = cost });
        }

        record.RttNs = total;
        var worst = record.Segments.MaxBy(x => x.CostNs)!;
        record.Verdict = new Verdict { Kind = worst.Kind, CostNs = worst.CostNs, Segment = record.Segments.IndexOf(worst) };
        return record;
    }

    public static ProbeRecord Lost(string src, string dst, string lostIn = "fabric", string leg = "reply")
    {
        var record = Base(src, dst);
        record.LostIn = lostIn;
        record.LostLeg = leg;
        return record;
    }

    private static ProbeRecord Base(string src, string dst)
    {
        var id = Interlocked.Increment(ref _nextId);
        var record = new ProbeRecord
        {
            Id = id,
            Src = src,
            Dst = dst,
            Key = new ProbeKey { IcmpId = 7, IcmpSeq = (uint)(id & 0xffff) },
        };
        foreach (var (node, point, role) in new[] { ("vm1", "eth0", Role.Guest), ("hv1", "tap100i0", Role.Vif), ("hv1", "eno1", Role.Nic), ("hv2", "eno1", Role.Nic), ("hv2", "tap200i0", Role.Vif), ("vm2", "eth0", Role.Guest) })
        {
            record.Points.Add(new ProbePoint { Node = node, Point = point, Role = role, HasRequest = true, HasReply = true });
        }

        return record;
    }
}
