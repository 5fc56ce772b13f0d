using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Google.Protobuf;
using HopCapture.Lab.Tests.Infrastructure;
using HopCapture.Protos;

namespace HopCapture.Lab.Tests.Scenarios;

/// <summary>
/// Issue 14 end to end: hv1's uplink is a two-slave "bond" (eno1 + eno2, point bond0), the switch
/// port toward hv1 is rate-limited and storage replication from hc-stor bursts through it for 8 s
/// while vm1 pings vm2. The correlator must open an incident on the fabric by itself (no alert
/// rule), pull hv1's and hv2's traffic accounting over the control stream, and show the bulk
/// flow as the top talker with the bytes the sender's own iperf3 report accounts for, the burst
/// in the timeline where the probes slowed, and the bond's imbalance on the slave that carried it.
/// One scenario run feeds every test of the fixture.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TrafficIncidentTests
{
    /// <summary>Ethernet (14) + IPv4 (20) + UDP (8) around each 1200-byte datagram iperf3 sends.</summary>
    private const int WireOverhead = 42;
    private const string Storage = "10.77.0.3";
    private const string Hv1 = "10.77.0.1";
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private LabEnvironment? _lab;
    private IncidentRecord? _incident;
    private BurstReport? _burst;
    private string _context = "";

    [OneTimeSetUp]
    public async Task RunScenarioAsync()
    {
        _lab = await LabEnvironment.StartPipelineOrIgnoreAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var token = limit.Token;
        var watch = Stopwatch.StartNew();
        await _lab.LabAsync(TimeSpan.FromMinutes(2), token, "bond", "up");
        var startNs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000L;
        var ping = LabEnvironment.InNamespaceAsync("hc-vm1", TimeSpan.FromSeconds(60), token, "ping", "-i", "0.05", "-c", "240", "-W", "1", "10.77.0.12");
        await Task.Delay(TimeSpan.FromSeconds(1), token);
        await _lab.LabAsync(TimeSpan.FromMinutes(1), token, "traffic", "burst", "8");
        _burst = BurstReport.Read(Path.Combine(_lab.StateDirectory, "traffic-burst.json"));
        var pinged = await ping;
        (_incident, var listed) = await PollIncidentAsync(_lab, startNs, token);
        _context = $"ping: {ProcessResult.Tail(pinged.StdOut, 2)}\nincidents: {listed}\n{_lab.LogTails()}";
        TestContext.Progress.WriteLine($"traffic incident scenario: {watch.Elapsed.TotalSeconds:0.0} s after the pipeline started (bond up, 8 s burst, incident settled and collected)");
    }

    [OneTimeTearDown]
    public async Task StopLabAsync()
    {
        if (_lab is not null)
        {
            await _lab.DownAsync();
        }
    }

    [Test]
    public void Incident_FabricBurst_TopTalkerIsTheBulkFlowWithTheBytesTheSenderSent()
    {
        var (incident, burst) = Scenario();
        Assert.That(incident.Segment, Is.EqualTo("fabric"), _context);
        Assert.That(incident.TopTalkers, Is.Not.Empty, Describe(incident));
        var top = incident.TopTalkers[0];
        var flow = top.Flow;
        Assert.Multiple(() =>
        {
            Assert.That(Address(flow.Src), Is.EqualTo(Storage), Describe(incident));
            Assert.That(Address(flow.Dst), Is.EqualTo(Hv1), Describe(incident));
            Assert.That(flow.Protocol, Is.EqualTo(17), Describe(incident));
            Assert.That(flow.SrcPort, Is.EqualTo(burst.LocalPort), Describe(incident));
            Assert.That(flow.DstPort, Is.EqualTo(5201), Describe(incident));
            Assert.That(top.Node, Is.EqualTo("hv1"));
            Assert.That(top.Iface, Is.EqualTo("eno1"));
            Assert.That(flow.Direction, Is.EqualTo(Direction.In));
            Assert.That(flow.Service, Is.EqualTo("iperf3"));
        });

        // What crossed hv1's eno1 is what the sender sent minus what the rate-limited switch port
        // dropped (the receiver's count, in the sender's report), at wire size.
        var delivered = (double)(burst.Packets - burst.LostPackets) * (burst.Bytes / (double)burst.Packets + WireOverhead);
        Assert.That(flow.Bytes, Is.InRange(delivered * 0.9, delivered * 1.1),
            $"sender: {burst.Bytes} B in {burst.Packets} datagrams, {burst.LostPackets} lost → {delivered:0} wire bytes delivered; {Describe(incident)}");
        Assert.That(top.Share, Is.GreaterThanOrEqualTo(0.9), $"the bulk flow's share of hv1/eno1 inbound; {Describe(incident)}");
    }

    [Test]
    public void Incident_FabricBurst_TimelineShowsTheBurstWhenTheProbesSlowed()
    {
        var (incident, _) = Scenario();
        var eno1 = incident.Windows.Single(w => w.Node == "hv1" && w.Iface == "eno1");
        Assert.That(eno1.BucketNs, Is.LessThanOrEqualTo(100_000_000), "buckets of 100 ms or finer");
        var during = MeanMbps(eno1, incident.SpikeFromNs, incident.SpikeToNs);
        var before = MeanMbps(eno1, incident.WindowFromNs, incident.SpikeFromNs - 1_000_000_000);
        Assert.That(during, Is.GreaterThan(5), $"inbound on hv1/eno1 while the probes were slow; {Describe(incident)}");
        Assert.That(before, Is.LessThan(1), $"inbound on hv1/eno1 before the probes slowed; {Describe(incident)}");
        Assert.That(incident.SlowProbes, Is.GreaterThanOrEqualTo(5));
        Assert.That(incident.WorstProbes[0].CostNs, Is.GreaterThan(20_000_000));
    }

    [Test]
    public void Incident_StorageFlowOnOneSlave_BondImbalanceNamesTheSlave()
    {
        var (incident, _) = Scenario();
        var bond = incident.Bonds.SingleOrDefault(b => b.Node == "hv1" && b.Point == "bond0");
        Assert.That(bond, Is.Not.Null, Describe(incident));
        Assert.That(bond!.Slaves.Select(s => s.Iface), Is.EquivalentTo(new[] { "eno1", "eno2" }));
        Assert.That(bond.Slaves.Single(s => s.Iface == "eno2").Bytes, Is.GreaterThan(0), "the light flow on eno2 was accounted");
        Assert.That(bond.Imbalanced, Is.True, Describe(incident));
        Assert.That(bond.HeavySlave, Is.EqualTo("eno1"));
        Assert.That(incident.Links.Where(l => l.Node == "hv1").Select(l => l.SpeedMbps), Has.All.EqualTo(-1), "a veth has no line rate (an up veth claims 10000): unknown, not claimed");
    }

    private (IncidentRecord Incident, BurstReport Burst) Scenario() =>
        _incident is not null && _burst is not null
            ? (_incident, _burst)
            : throw new InvalidOperationException("the scenario did not run");

    private static double MeanMbps(TrafficWindow window, long fromNs, long toNs)
    {
        var bytes = window.Buckets.Where(b => b.StartNs >= fromNs && b.StartNs < toNs).Sum(b => (double)b.InBytes);
        return bytes * 8 / Math.Max(1e-9, (toNs - fromNs) / 1e9) / 1e6;
    }

    private static string Address(ByteString bytes) => new IPAddress(bytes.Span).ToString();

    private string Describe(IncidentRecord incident) =>
        $"incident {incident.Id} ({incident.Verdict}): talkers [{string.Join("; ", incident.TopTalkers.Select(t => $"{t.Node}/{t.Iface} {Address(t.Flow.Src)}:{t.Flow.SrcPort}>{Address(t.Flow.Dst)}:{t.Flow.DstPort}/{t.Flow.Protocol} {t.Flow.Bytes} B {t.Share:P1}"))}], " +
        $"bonds [{string.Join("; ", incident.Bonds)}], problems [{string.Join("; ", incident.Problems)}]\n{_context}";

    /// <summary>Polls `capture incidents` until a fabric incident opened after the scenario began has been stored.</summary>
    private static async Task<(IncidentRecord? Incident, string Listed)> PollIncidentAsync(LabEnvironment lab, long startNs, CancellationToken cancellationToken)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(60);
        var listed = "";
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            var list = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "incidents", "--since", "5m", "--json");
            listed = list.ToString();
            if (list.ExitCode == 0)
            {
                var found = s_parser.Parse<ListIncidentsResponse>(list.StdOut).Incidents.FirstOrDefault(i => i.Segment == "fabric" && i.OpenedNs >= startNs);
                if (found is not null)
                {
                    var show = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "incident", "show", found.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
                    Assert.That(show.ExitCode, Is.Zero, show.ToString());
                    var human = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "incident", "show", found.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    TestContext.Progress.WriteLine(human.StdOut);
                    return (s_parser.Parse<IncidentRecord>(show.StdOut), listed);
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        Assert.Fail($"no fabric incident within 60 s of the burst; last 'capture incidents': {listed}\n{lab.LogTails()}");
        return (null, listed);
    }

    /// <summary>What iperf3 --json says it sent (the UDP sum carries the receiver's loss count).</summary>
    private sealed record BurstReport(long Bytes, long Packets, long LostPackets, int LocalPort)
    {
        public static BurstReport Read(string path)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            var sum = root.GetProperty("end").GetProperty("sum");
            return new BurstReport(
                sum.GetProperty("bytes").GetInt64(),
                sum.GetProperty("packets").GetInt64(),
                sum.GetProperty("lost_packets").GetInt64(),
                root.GetProperty("start").GetProperty("connected")[0].GetProperty("local_port").GetInt32());
        }
    }
}
