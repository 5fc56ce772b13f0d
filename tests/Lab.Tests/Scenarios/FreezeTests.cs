using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using HopCapture.Lab.Tests.Infrastructure;
using HopCapture.Protos;

namespace HopCapture.Lab.Tests.Scenarios;

/// <summary>
/// Field report 000 in the lab: a link goes dark for a few seconds at a regular interval while
/// vm1 pings vm2 every 100 ms, captured for real. The freezes HopCapture reports must sit in the
/// right segment, lose as many probes as the link was down for (within one), and recur with the
/// flap's period (within 10 %).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class FreezeTests
{
    private const string Source = "10.77.0.11";
    private const string Destination = "10.77.0.12";
    private const int Cycles = 3;
    private const double DownSeconds = 3;
    private const double PeriodSeconds = 6;
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private LabEnvironment? _lab;

    [OneTimeSetUp]
    public async Task StartLabAsync() => _lab = await LabEnvironment.StartPipelineOrIgnoreAsync();

    [OneTimeTearDown]
    public async Task StopLabAsync()
    {
        if (_lab is not null)
        {
            await _lab.DownAsync();
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public Task Flap_VirtioHopDownEvery6s_FreezesInVifAfterTheGuest(CancellationToken cancellationToken) =>
        RunAsync("flap-vif", "vif", "vm1/eth0", cancellationToken);

    [Test]
    [CancelAfter(180_000)]
    public Task Flap_SwitchPortDownEvery6s_FreezesInFabricAfterTheSourceNic(CancellationToken cancellationToken) =>
        RunAsync("flap-fabric", "fabric", "hv1/eno1", cancellationToken);

    private async Task RunAsync(string fault, string segment, string after, CancellationToken cancellationToken)
    {
        var lab = _lab ?? throw new InvalidOperationException("the lab fixture did not start");
        var startNs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000L;
        var probes = (int)((Cycles * PeriodSeconds + 6) / 0.1);
        var ping = LabEnvironment.InNamespaceAsync("hc-vm1", TimeSpan.FromSeconds(60), cancellationToken,
            "ping", "-q", "-i", "0.1", "-c", probes.ToString(CultureInfo.InvariantCulture), "-W", "1", Destination);

        // The path must be carrying answered probes before the first flap, or there is no "before".
        await lab.PollAsync("answered probes of this run",
            async () => (await ProbesAsync(lab, startNs, cancellationToken)).Count(p => p.Answered) >= 10, TimeSpan.FromSeconds(60), cancellationToken);
        ProcessResult flap;
        try
        {
            flap = await lab.LabAsync(TimeSpan.FromSeconds(60), cancellationToken, "fault", fault,
                Cycles.ToString(CultureInfo.InvariantCulture), DownSeconds.ToString(CultureInfo.InvariantCulture),
                PeriodSeconds.ToString(CultureInfo.InvariantCulture));
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await lab.LabAsync(TimeSpan.FromMinutes(1), cleanup.Token, "fault", "clear");
        }

        var pinged = await ping;
        var dark = FlapRegex().Matches(flap.StdOut)
            .Select(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) - double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .ToList();
        Assert.That(dark, Has.Count.EqualTo(Cycles), $"flap output: {flap}");

        // Every probe of the run is stored once ping is done and the engine has settled them.
        ListFreezesResponse freezes = new();
        await lab.PollAsync("the run's freezes",
            async () =>
            {
                freezes = await FreezesAsync(lab, startNs, cancellationToken);
                return freezes.Freezes.Count(f => !f.Silence && !f.Ongoing) >= Cycles;
            },
            TimeSpan.FromSeconds(60),
            cancellationToken);

        var found = freezes.Freezes.Where(f => !f.Silence).ToList();
        var series = freezes.Series.Single(s => s.IcmpId == found[0].IcmpId);
        var intervalS = series.IntervalNs / 1e9;
        var context = $"freezes: {freezes}\nping: {pinged}\nflap: {flap.StdOut}\n{lab.LogTails()}";
        Assert.Multiple(() =>
        {
            Assert.That(found, Has.Count.EqualTo(Cycles), context);
            Assert.That(found.Select(f => (f.Segment, f.Leg, f.After)), Is.All.EqualTo((segment, "request", after)), context);
            for (var i = 0; i < Math.Min(found.Count, dark.Count); i++)
            {
                var expected = Math.Round(dark[i] / intervalS);
                Assert.That((double)found[i].Lost, Is.EqualTo(expected).Within(1),
                    $"freeze {i + 1}: link dark {dark[i]:0.000} s at one probe per {intervalS:0.0000} s; {context}");
            }

            Assert.That(series.Periodic, Is.True, context);
            Assert.That(series.PeriodNs / 1e9, Is.EqualTo(PeriodSeconds).Within(PeriodSeconds * 0.1), context);
            Assert.That(series.Segment, Is.EqualTo(segment), context);
        });
    }

    private static async Task<List<ProbeRecord>> ProbesAsync(LabEnvironment lab, long startNs, CancellationToken cancellationToken)
    {
        var result = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken,
            "probes", "--src", Source, "--dst", Destination, "--since", "2m", "--limit", "1000", "--json");
        return result.ExitCode == 0
            ? [.. s_parser.Parse<ListProbesResponse>(result.StdOut).Probes.Where(p => p.FirstTsNs >= startNs)]
            : [];
    }

    private static async Task<ListFreezesResponse> FreezesAsync(LabEnvironment lab, long startNs, CancellationToken cancellationToken)
    {
        var since = DateTimeOffset.FromUnixTimeMilliseconds(startNs / 1_000_000).ToString("O", CultureInfo.InvariantCulture);
        var result = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken,
            "freezes", "--src", Source, "--dst", Destination, "--since", since, "--json");
        return result.ExitCode == 0 ? s_parser.Parse<ListFreezesResponse>(result.StdOut) : new ListFreezesResponse();
    }

    [GeneratedRegex(@"flap \d+ down ([0-9.]+) up ([0-9.]+)")]
    private static partial Regex FlapRegex();
}
