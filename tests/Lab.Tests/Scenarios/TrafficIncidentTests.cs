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
/// One scenario run feeds the incident tests; the flood test runs after it on the same lab.
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
        // Issue 15: the incident carries the cause hints of its segment's two ends.
        Assert.That(incident.Hosts, Is.EquivalentTo(new[] { incident.FromPoint, incident.ToPoint }.Distinct()), Describe(incident));
        Assert.That(incident.Hints, Is.Not.Empty, Describe(incident));
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

    /// <summary>
    /// `capture pcap` cuts the spike out of hv1/eno1's packet ring (Agent:Traffic:RingMb, set by
    /// `bond up`): real tshark opens it and finds the interface name, both directions, the slow
    /// probes' echo requests by icmp_seq and the bulk flow's datagrams. Runs before the flood
    /// test, which overwrites the ring.
    /// </summary>
    [Test]
    [Order(1)]
    [CancelAfter(120_000)]
    public async Task Pcap_SpikeWindow_TsharkOpensItWithTheProbesAndTheBulkFlow(CancellationToken cancellationToken)
    {
        var lab = _lab ?? throw new InvalidOperationException("the lab fixture did not start");
        var (incident, burst) = Scenario();
        var file = Path.Combine(lab.StateDirectory, "spike.pcapng");
        var cut = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken,
            "pcap", "--node", "hv1", "--iface", "eno1", "--from", Rfc3339(incident.SpikeFromNs), "--to", Rfc3339(incident.SpikeToNs), "-o", file);
        Assert.That(cut.ExitCode, Is.Zero, cut.ToString());
        TestContext.Progress.WriteLine(cut.StdOut.Trim());

        var tshark = await ProcessRunner.RunAsync("tshark",
            ["-r", file, "-T", "fields", "-E", "separator=,", "-e", "frame.interface_name", "-e", "frame.packet_flags_direction",
             "-e", "ip.src", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "icmp.type", "-e", "icmp.seq"],
            TimeSpan.FromSeconds(60), cancellationToken);
        Assert.That(tshark.ExitCode, Is.Zero, $"tshark could not read the slice: {tshark}");
        var rows = tshark.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',')).ToList();
        var inbound = rows.Count(r => PacketFlagsDirection(r[1]) == 1);
        var outbound = rows.Count(r => PacketFlagsDirection(r[1]) == 2);
        var bulk = rows.Count(r => r[2] == Storage && r[3] == burst.LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture) && r[4] == "5201");
        var requestSeqs = rows.Where(r => r[5] == "8").Select(r => r[6]).ToHashSet();
        var worstSeqs = incident.WorstProbes.Select(p => p.IcmpSeq.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var context = $"{rows.Count} packets: {inbound} in, {outbound} out, {bulk} of the bulk flow, echo requests seq [{string.Join(' ', requestSeqs.Take(20))}…]; worst probes seq [{string.Join(' ', worstSeqs)}]";
        TestContext.Progress.WriteLine($"tshark on the spike slice: {context}");

        Assert.That(rows.Select(r => r[0]), Has.All.EqualTo("eno1"), context);
        Assert.That((inbound > 0, outbound > 0), Is.EqualTo((true, true)), context);
        Assert.That(bulk, Is.GreaterThan(1000), context);
        Assert.That(worstSeqs, Is.SubsetOf(requestSeqs), context);
    }

    private static string Rfc3339(long unixNs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixNs / 1_000_000).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) +
        "." + (unixNs % 1_000_000_000).ToString("D9", System.Globalization.CultureInfo.InvariantCulture) + "Z";

    private static int PacketFlagsDirection(string field) =>
        field.StartsWith("0x", StringComparison.Ordinal) ? Convert.ToInt32(field[2..], 16) : int.TryParse(field, out var value) ? value : 0;

    /// <summary>`capture incident show ID --png` draws the incident from the live correlator (the series are checked in PathPictureTests).</summary>
    [Test]
    [Order(2)]
    [CancelAfter(60_000)]
    public async Task IncidentShow_Png_PictureWritten(CancellationToken cancellationToken)
    {
        var lab = _lab ?? throw new InvalidOperationException("the lab fixture did not start");
        var (incident, _) = Scenario();
        var file = Path.Combine(lab.StateDirectory, $"incident-{incident.Id}.png");
        var show = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "incident", "show", incident.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--png", file);

        Assert.That(show.ExitCode, Is.Zero, show.ToString());
        Assert.That(show.StdErr, Does.Match(@"drew [1-9]\d+ probes and [1-9] traffic windows"), show.ToString());
        var bytes = await File.ReadAllBytesAsync(file, cancellationToken);
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
        TestContext.Progress.WriteLine($"incident picture: {file} ({bytes.Length} bytes)");
    }

    /// <summary>
    /// Accounting at full rate: hc-stor floods hv1 with 64-byte UDP (as fast as the lab carries)
    /// while vm1 pings vm2 100 times a second through the same NIC. States the packets/s, the
    /// agent's CPU (the accounting threads' share apart, by thread name) and both captures'
    /// kernel drops; every echo the ping got back must have been captured at hv1/eno1 both ways.
    /// </summary>
    [Test]
    [Order(100)]
    [CancelAfter(180_000)]
    public async Task Accounting_LinkFlooded_EchoCaptureLosesNothingAndTheCostIsStated(CancellationToken cancellationToken)
    {
        var lab = _lab ?? throw new InvalidOperationException("the lab fixture did not start");
        var agentPid = int.Parse(File.ReadAllText(Path.Combine(lab.StateDirectory, "pids", "agent-hv1.pid")).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var echoDropsBefore = await EchoDropsAsync(lab, "hv1", cancellationToken);
        var cpuBefore = ThreadCpu(agentPid);
        var startNs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000L;
        var clock = Stopwatch.StartNew();
        var flood = lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "traffic", "flood", "5");
        await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        var ping = await LabEnvironment.InNamespaceAsync("hc-vm1", TimeSpan.FromSeconds(30), cancellationToken, "ping", "-q", "-i", "0.01", "-c", "400", "-W", "1", "10.77.0.12");
        await flood;
        var cpuAfter = ThreadCpu(agentPid);
        var elapsed = clock.Elapsed.TotalSeconds;
        var sent = FloodReport.Read(Path.Combine(lab.StateDirectory, "traffic-flood.json"));

        var top = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "top", "--node", "hv1", "--iface", "eno1", "--window", "15s", "--top", "3", "--json");
        Assert.That(top.ExitCode, Is.Zero, top.ToString());
        var eno1 = s_parser.Parse<GetTrafficResponse>(top.StdOut).Windows.Single();
        var floodFlow = eno1.Flows.FirstOrDefault(f => f.DstPort == 5203);
        var received = int.Parse(System.Text.RegularExpressions.Regex.Match(ping.StdOut, @"(\d+) received").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var (seen, missing) = await PollEchoesSeenAsync(lab, startNs, received, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(6), cancellationToken); // one heartbeat: the agent's drop counters
        var echoDrops = await EchoDropsAsync(lab, "hv1", cancellationToken) - echoDropsBefore;

        var ticks = 100.0; // USER_HZ
        var traffic = (cpuAfter.Traffic - cpuBefore.Traffic) / ticks / elapsed;
        var capture = (cpuAfter.Capture - cpuBefore.Capture) / ticks / elapsed;
        var total = (cpuAfter.Total - cpuBefore.Total) / ticks / elapsed;
        var pps = sent.Packets / sent.Seconds;
        TestContext.Progress.WriteLine(
            $"accounting at full rate: hc-stor sent {sent.Packets} datagrams in {sent.Seconds:0.0} s = {pps:0} packets/s ({sent.Lost} lost at the receiver); " +
            $"hv1/eno1 accounted {eno1.InPackets} in-packets, flood flow {floodFlow?.Packets ?? 0} (sampled 1 in {eno1.SampleEvery}), accounting kernel drops {eno1.KernelDropped}; " +
            $"hv1 agent CPU over {elapsed:0.0} s: accounting threads {traffic:P0} of a core ({(traffic > 0 ? eno1.InPackets / elapsed / traffic : 0):0} packets/s per core), echo capture threads {capture:P0}, whole process {total:P0}; " +
            $"echo capture: {seen}/{received} answered pings seen at hv1/eno1 both ways, {echoDrops} drops (kernel, driver, queue)");

        Assert.That(received, Is.GreaterThanOrEqualTo(300), $"the lab itself is broken under the flood: {ping}");
        Assert.That(seen, Is.EqualTo(received), $"every echo that came back was captured at hv1/eno1, request and reply; not: {missing}");
        Assert.That(echoDrops, Is.Zero, "the echo capture dropped nothing (kernel rings, driver, the agent's queue)");
        Assert.That(floodFlow, Is.Not.Null, "the flood is hv1/eno1's top inbound flow");
        Assert.That((double)eno1.InPackets + eno1.KernelDropped, Is.GreaterThanOrEqualTo(0.9 * (sent.Packets - sent.Lost)),
            "what reached hv1 was accounted or counted as dropped by the accounting handles");
    }

    /// <summary>
    /// CPU ticks of the agent: its accounting threads ("traffic …"), its echo capture threads
    /// ("capture …"), and the whole process (/proc/PID/stat, which keeps the ticks of threads that ended).
    /// </summary>
    private static (long Traffic, long Capture, long Total) ThreadCpu(int pid)
    {
        long traffic = 0, capture = 0;
        var total = Ticks(File.ReadAllText($"/proc/{pid}/stat"));
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }

            var comm = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
            var ticks = Ticks(stat);
            if (comm.StartsWith("traffic", StringComparison.Ordinal))
            {
                traffic += ticks;
            }
            else if (comm.StartsWith("capture", StringComparison.Ordinal))
            {
                capture += ticks;
            }
        }

        return (traffic, capture, total);
    }

    /// <summary>utime + stime of a /proc stat line (fields 14 and 15, counted after the command name).</summary>
    private static long Ticks(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<long> EchoDropsAsync(LabEnvironment lab, string node, CancellationToken cancellationToken)
    {
        var agents = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "agents", "--json");
        Assert.That(agents.ExitCode, Is.Zero, agents.ToString());
        return s_parser.Parse<ListAgentsResponse>(agents.StdOut).Agents.Single(a => a.Node == node).Stats.Sum(s => (long)(s.KernelDropped + s.InterfaceDropped + s.QueueDropped));
    }

    /// <summary>
    /// Answered vm1 → vm2 probes since <paramref name="startNs"/> that hv1/eno1 saw both ways,
    /// polled until all <paramref name="expected"/> are there or 40 s passed; with the probes that
    /// lack it described (seq and the points that saw them).
    /// </summary>
    private static async Task<(int Seen, string Missing)> PollEchoesSeenAsync(LabEnvironment lab, long startNs, int expected, CancellationToken cancellationToken)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(40);
        var seen = -1;
        var missing = "";
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            var probes = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "probes", "--src", "10.77.0.11", "--dst", "10.77.0.12", "--since", "2m", "--limit", "5000", "--json");
            if (probes.ExitCode == 0)
            {
                var ours = s_parser.Parse<ListProbesResponse>(probes.StdOut).Probes.Where(p => p.FirstTsNs >= startNs).ToList();
                static bool SeenAtEno1(ProbeRecord p) => p.Answered && p.Points.Any(q => q.Node == "hv1" && q.RequestIface == "eno1" && q.HasRequest && q.HasReply);
                seen = ours.Count(SeenAtEno1);
                missing = string.Join("; ", ours.Where(p => !SeenAtEno1(p)).Take(5).Select(p =>
                    $"seq {p.Key.IcmpSeq} answered={p.Answered} points [{string.Join(' ', p.Points.Select(q => $"{q.Node}/{q.RequestIface}:{(q.HasRequest ? "q" : "-")}{(q.HasReply ? "r" : "-")}"))}]"));
                if (seen >= expected)
                {
                    break;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }

        return (seen, missing);
    }

    /// <summary>What iperf3 --json says the flood sent.</summary>
    private sealed record FloodReport(long Packets, long Lost, double Seconds)
    {
        public static FloodReport Read(string path)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var sum = document.RootElement.GetProperty("end").GetProperty("sum");
            return new FloodReport(sum.GetProperty("packets").GetInt64(), sum.GetProperty("lost_packets").GetInt64(), sum.GetProperty("seconds").GetDouble());
        }
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
