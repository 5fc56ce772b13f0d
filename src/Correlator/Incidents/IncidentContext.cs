using HopCapture.Protos;

namespace HopCapture.Correlator.Incidents;

/// <summary>
/// Turns the traffic windows the agents sent into what an engineer reads first: the top talkers
/// with their share of the interface's bytes (same direction), the per-slave shares of each bond
/// with a flag when one slave carries most of it (layer3+4 hashing put the heavy flows on one
/// side, field report 003), and whether a link ran near its line rate. Pure.
/// </summary>
public static class IncidentContext
{
    /// <summary>Below this mean rate a bond's split says nothing (a few pings are "all on one slave").</summary>
    public const double MinBondMbps = 1.0;

    /// <summary>Fills <paramref name="record"/>'s talkers, bonds and link loads from its windows.</summary>
    public static void Build(IncidentRecord record, IncidentOptions options)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(options);
        record.TopTalkers.Clear();
        record.Bonds.Clear();
        record.Links.Clear();
        foreach (var window in record.Windows)
        {
            Name(window);
        }

        record.TopTalkers.AddRange(TopTalkers(record.Windows, options.TopFlows));
        record.Bonds.AddRange(Bonds(record.Windows, options.ImbalanceShare));
        record.Links.AddRange(record.Windows.Where(w => w.Error.Length == 0).Select(w => Load(w, options.NearLineRate)));
    }

    /// <summary>Well-known service names on every flow of the window.</summary>
    public static void Name(TrafficWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        foreach (var flow in window.Flows)
        {
            flow.Service = ServiceNames.Of(flow.Protocol, flow.SrcPort, flow.DstPort);
        }
    }

    public static IEnumerable<TalkerShare> TopTalkers(IEnumerable<TrafficWindow> windows, int top) =>
        windows
            .SelectMany(w => w.Flows.Select(f => new TalkerShare
            {
                Node = w.Node,
                Iface = w.Iface,
                Flow = f,
                Share = Share(f.Bytes, f.Direction == Direction.In ? w.InBytes : w.OutBytes),
            }))
            .OrderByDescending(t => t.Flow.Bytes)
            .Take(top);

    public static IEnumerable<BondShare> Bonds(IEnumerable<TrafficWindow> windows, double imbalanceShare)
    {
        foreach (var group in windows.Where(w => w.Error.Length == 0 && w.Point.Length > 0 && w.Point != w.Iface).GroupBy(w => (w.Node, w.Point)))
        {
            var slaves = group.ToList();
            if (slaves.Count < 2)
            {
                continue;
            }

            var total = slaves.Sum(s => (double)(s.InBytes + s.OutBytes));
            var bond = new BondShare { Node = group.Key.Node, Point = group.Key.Point };
            foreach (var slave in slaves.OrderByDescending(s => s.InBytes + s.OutBytes))
            {
                var bytes = slave.InBytes + slave.OutBytes;
                bond.Slaves.Add(new SlaveShare { Iface = slave.Iface, Bytes = bytes, Share = Share(bytes, total) });
            }

            var seconds = Math.Max(1e-9, (slaves[0].ToNs - slaves[0].FromNs) / 1e9);
            var heavy = bond.Slaves[0];
            if (total * 8 / seconds / 1e6 >= MinBondMbps && heavy.Share >= imbalanceShare)
            {
                bond.Imbalanced = true;
                bond.HeavySlave = heavy.Iface;
            }

            yield return bond;
        }
    }

    /// <summary>The busiest bucket (either direction: a link is full-duplex) against the link's speed.</summary>
    public static LinkLoad Load(TrafficWindow window, double nearLineRate)
    {
        ArgumentNullException.ThrowIfNull(window);
        var bucketSeconds = window.BucketNs / 1e9;
        var peak = window.Buckets.Count == 0 || bucketSeconds <= 0
            ? 0
            : window.Buckets.Max(b => Math.Max(b.InBytes, b.OutBytes)) * 8 / bucketSeconds / 1e6;
        var seconds = Math.Max(1e-9, (window.ToNs - window.FromNs) / 1e9);
        return new LinkLoad
        {
            Node = window.Node,
            Iface = window.Iface,
            SpeedMbps = window.SpeedMbps,
            PeakMbps = peak,
            MeanMbps = Math.Max(window.InBytes, window.OutBytes) * 8 / seconds / 1e6,
            NearLineRate = window.SpeedMbps > 0 && peak >= nearLineRate * window.SpeedMbps,
        };
    }

    private static double Share(double part, double whole) => whole <= 0 ? 0 : Math.Min(1, part / whole);
}
