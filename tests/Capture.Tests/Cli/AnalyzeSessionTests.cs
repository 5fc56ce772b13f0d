using System.Net;
using HopCapture.Analysis.Driver;
using HopCapture.Analysis.Probes;
using HopCapture.Cli.Commands;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Model;
using HopCapture.Packets.Files;
using HopCapture.Protos;
using HopCapture.Tests.Support;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Tests.Cli;

/// <summary>
/// The analyze pipeline itself: files decoded ahead on their own threads, probes published to the
/// views on another. It must give what one thread would, and stop cleanly when a stage fails.
/// </summary>
public class AnalyzeSessionTests
{
    // Enough echoes per file to cross several decode chunks.
    private const int Probes = 5_000;
    private const long StartNs = 1_763_900_000_000_000_000;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private string _directory = "";
    private List<AnalyzeInput> _inputs = [];

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "hopcapture-session-" + Guid.NewGuid().ToString("N"));
        var path = new SyntheticPath(SyntheticPath.Report003Points, IPAddress.Parse("192.168.47.111"), IPAddress.Parse("192.168.47.127"))
        {
            HopDelayNs = static (probe, hop, request) => !request && hop == 2 && probe % 50 == 7 ? 30_000_000 : 25_000,
            RequestLostAfter = static probe => probe % 500 == 499 ? 2 : null,
        };
        var files = path.WritePcaps(_directory, Probes, StartNs, 1_000_000);
        _inputs = [.. path.Points.Select((p, i) => new AnalyzeInput(files[i], p.Node, p.Iface, Role(p.Role), null))];
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static PointRole Role(string role) => Enum.Parse<PointRole>(role, ignoreCase: true);

    [Test]
    public async Task Run_FilesLongerThanAChunk_GivesWhatTheEngineGivesOverTheMergedObservations()
    {
        var recorder = new Recorder();
        AnalyzeReport report;
        using (var session = new AnalyzeSession(_inputs, new EngineOptions(), [recorder]))
        {
            report = await Task.Run(() => session.Run()).WaitAsync(Limit);
        }

        // The reference: every echo of every file, sorted by capture time, through one engine on this thread.
        var catalog = new InterfaceCatalog();
        var all = new List<Observation>();
        foreach (var input in _inputs)
        {
            var id = catalog.Register(input.Node, input.Iface!, null, input.Role).Id;
            all.AddRange(CaptureFileReader.ReadObservations(input.Path, id).Observations);
        }

        var ordered = all.OrderBy(static o => o.TimestampNs).ToList();
        var engine = new CorrelationEngine(new EngineOptions(), catalog);
        var expected = new List<ProbeResult>();
        var next = long.MinValue;
        foreach (var observation in ordered)
        {
            engine.Add(observation, observation.TimestampNs);
            if (observation.TimestampNs >= next)
            {
                engine.Advance(observation.TimestampNs, expected);
                next = observation.TimestampNs + (long)EngineDriver.AdvanceEvery.TotalNanoseconds;
            }
        }

        engine.Advance(ordered[^1].TimestampNs, expected);
        engine.Flush(expected);

        Assert.Multiple(() =>
        {
            Assert.That(report.Engine.Observations, Is.EqualTo((ulong)ordered.Count));
            Assert.That(report.Files.Sum(static f => (long)f.Echoes), Is.EqualTo(ordered.Count));
            Assert.That(recorder.Records.Select(static r => r.Id), Is.EqualTo(Enumerable.Range(1, expected.Count).Select(static i => (long)i)),
                "ids are numbered in finalisation order");
            Assert.That(recorder.Records.Select(static r => (r.Key.IcmpSeq, r.Answered, r.Verdict.Kind, r.RttNs)),
                Is.EqualTo(expected.Select(static r => ((uint)r.Key.IcmpSeq, r.Answered, r.Verdict?.Kind ?? "lost:" + r.LostIn, r.RoundTripNs))));
            Assert.That(recorder.Records.Count(static r => !r.Answered), Is.EqualTo(Probes / 500));
            Assert.That(recorder.Completed, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Probe_Fields_AreWhatTheRecordSays()
    {
        // The views count most probes from these fields and build records only for those they keep:
        // the two must never disagree (answered, slow, lost request, lost reply alike).
        var fields = new List<(string, string, uint, uint, long, long, bool, string, long, string, string, string, string)>();
        var records = new List<(string, string, uint, uint, long, long, bool, string, long, string, string, string, string)>();
        var view = new Recorder(onProbe: p =>
        {
            fields.Add((p.Src, p.Dst, p.IcmpId, p.IcmpSeq, p.FirstTsNs, p.RttNs, p.Answered, p.VerdictKindName, p.VerdictCostNs, p.VerdictLegName,
                p.LostInName, p.LostLegName, p.LostAfterName));
            var r = p.ToRecord();
            records.Add((r.Src, r.Dst, r.Key.IcmpId, r.Key.IcmpSeq, r.FirstTsNs, r.RttNs, r.Answered, r.Verdict.Kind, r.Verdict.CostNs,
                r.VerdictLeg(), r.LostIn, r.LostLeg, r.LostAfter));
        });
        using (var session = new AnalyzeSession(_inputs, new EngineOptions(), [view]))
        {
            await Task.Run(() => session.Run()).WaitAsync(Limit);
        }

        Assert.Multiple(() =>
        {
            Assert.That(fields, Is.EqualTo(records));
            Assert.That(fields.Count(static f => !f.Item7), Is.EqualTo(Probes / 500));
            Assert.That(fields.Where(static f => !f.Item7).Select(static f => (f.Item8, f.Item12)), Is.All.EqualTo(("lost:fabric", "request")));
            Assert.That(fields.Count(static f => f.Item8 == "fabric" && f.Item6 > 20_000_000), Is.EqualTo(Probes / 50));
        });
    }

    [Test]
    public void Run_ViewThrows_ThatErrorComesOutAndNothingHangs()
    {
        using var session = new AnalyzeSession(_inputs, new EngineOptions(), [new Recorder(throwAt: 100)]);

        var error = Assert.ThrowsAsync<InvalidOperationException>(() => Task.Run(() => session.Run()).WaitAsync(Limit));

        Assert.That(error!.Message, Does.Contain("view failed at probe 100"));
    }

    [Test]
    public void Run_Cancelled_StopsWithOperationCanceled()
    {
        using var cancel = new CancellationTokenSource();
        // The view cancels the run from the publisher's thread once probes flow.
        using var session = new AnalyzeSession(_inputs, new EngineOptions(), [new Recorder(onRecord: id =>
        {
            if (id == 10)
            {
                cancel.Cancel();
            }
        })]);

        Assert.CatchAsync<OperationCanceledException>(() => Task.Run(() => session.Run(cancellationToken: cancel.Token)).WaitAsync(Limit));
    }

    [Test]
    public async Task Dispose_BeforeRunFinishesReading_ReturnsPromptly()
    {
        // Never run: the decoders were never started. Run and abandoned: they are waiting for room.
        new AnalyzeSession(_inputs, new EngineOptions(), []).Dispose();
        var session = new AnalyzeSession(_inputs, new EngineOptions(), [new Recorder(throwAt: 1)]);
        Assert.ThrowsAsync<InvalidOperationException>(() => Task.Run(() => session.Run()).WaitAsync(Limit));

        await Task.Run(session.Dispose).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class Recorder(int throwAt = 0, Action<long>? onRecord = null, Action<Probe>? onProbe = null) : IAnalyzeView
    {
        public List<ProbeRecord> Records { get; } = [];

        public int Completed { get; private set; }

        public void Add(Probe probe)
        {
            if (probe.Id == throwAt)
            {
                throw new InvalidOperationException($"view failed at probe {throwAt}");
            }

            if (onProbe is not null)
            {
                onProbe(probe);
                return;
            }

            Records.Add(probe.ToRecord());
            onRecord?.Invoke(probe.Id);
        }

        public void Complete(AnalyzeReport report) => Completed++;
    }
}
