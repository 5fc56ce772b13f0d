using System.Diagnostics;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// A real full disk (a small tmpfs) under a real correlator with a real agent stream: ingest
/// stalls instead of dropping (no ack while the disk is full), the store-unwritable alert fires,
/// <c>capture agents</c> says why, and once space is freed the held batch is acked and every
/// probe ends stored.
/// </summary>
[NonParallelizable]
public sealed class StoreFullTests
{
    private const int ProbesPerBatch = 150;
    private const string Node = "nc1";

    private string _mount = "";
    private string _elsewhere = "";

    [SetUp]
    public void SetUp()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("mounting a tmpfs needs root");
        }

        _mount = Path.Combine(Path.GetTempPath(), "hopcapture-full-" + Guid.NewGuid().ToString("N"));
        _elsewhere = _mount + "-journal";
        Directory.CreateDirectory(_mount);
        Assert.That(Run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", _mount), Is.Zero, "mount the tmpfs");
    }

    [TearDown]
    public void TearDown()
    {
        if (_mount.Length == 0)
        {
            return;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Run("umount", "-l", _mount);
        Directory.Delete(_mount, recursive: true);
        if (Directory.Exists(_elsewhere))
        {
            Directory.Delete(_elsewhere, recursive: true);
        }
    }

    /// <summary>The shipped layout: the journal next to the database, on the disk that fills.</summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task DiskFull_JournalAndStoreOnIt_StallsAlertsAndResumesWithNothingLost(CancellationToken cancellationToken) =>
        await StallAndResumeAsync(journalElsewhere: false, expectedPart: "journal", cancellationToken);

    /// <summary>The journal on another disk: it takes the batch, the store cannot write its probes, and the next batch is held.</summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task DiskFull_OnlyTheStoreOnIt_StallsAlertsAndResumesWithNothingLost(CancellationToken cancellationToken) =>
        await StallAndResumeAsync(journalElsewhere: true, expectedPart: "store", cancellationToken);

    private async Task StallAndResumeAsync(bool journalElsewhere, string expectedPart, CancellationToken cancellationToken)
    {
        var overrides = new Dictionary<string, string?> { ["Correlator:Alerts:EvaluationInterval"] = "00:00:00.100" };
        if (journalElsewhere)
        {
            overrides["Correlator:Journal:Directory"] = _elsewhere;
        }

        await using var correlator = await TestCorrelator.StartAsync(Path.Combine(_mount, "hopcapture.db"), overrides, cancellationToken: cancellationToken);
        await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor(Node));
        await agent.SendBatchAsync(1, Batch(0));
        await StoredAsync(correlator, ProbesPerBatch);

        var filler = Fill(Path.Combine(_mount, "filler"));
        var next = 2UL;
        if (journalElsewhere)
        {
            // Journalled and acked (its own disk has room); its probes are what the store cannot write.
            await agent.SendBatchAsync(next, Batch(1));
            await FaultAsync(correlator, "store");
            next++;
        }

        var held = agent.SendBatchAsync(next, Batch((int)next - 1));
        var agents = await FaultAsync(correlator, expectedPart);
        var alerts = await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
            r => r.Alerts.Any(a => a.Rule == "hopcapture-store-unwritable" && a.State == "firing"), "the store-unwritable alert firing");
        var fault = agents.StoreFaults.First(f => f.Part == expectedPart);
        var alert = alerts.Alerts.First(a => a.Rule == "hopcapture-store-unwritable");
        Assert.Multiple(() =>
        {
            Assert.That(fault.Problem, Does.Contain("full").Or.Contain("space").IgnoreCase, "the reason is the full disk");
            Assert.That(alert.Labels["part"], Is.EqualTo(expectedPart));
            Assert.That(alert.Summary, Does.Contain("cannot write").And.Contain("held back"));
        });

        // Stalled, not dropped: no ack while the disk stays full.
        await Task.Delay(TimeSpan.FromSeconds(1.5), cancellationToken);
        Assert.That(held.IsCompleted, Is.False, "no batch is acked while the disk is full");

        File.Delete(filler);
        var ack = await held;
        Assert.That(ack.Accepted, Is.EqualTo((uint)Batch(0).Count), "the held batch is acked whole once space is freed");
        await StoredAsync(correlator, (int)next * ProbesPerBatch);
        await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: token).ResponseAsync,
            r => r.StoreFaults.Count == 0, "capture agents clear again");
        await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
            r => r.Alerts.Any(a => a.Rule == "hopcapture-store-unwritable" && a.State == "resolved"), "the alert resolved and recorded");
    }

    private static Task<ListAgentsResponse> FaultAsync(TestCorrelator correlator, string part) =>
        TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: token).ResponseAsync,
            r => r.StoreFaults.Any(f => f.Part == part), $"capture agents reporting the {part} cannot write");

    /// <summary>Batch <paramref name="index"/>: its own icmp seqs, <see cref="ProbesPerBatch"/> probes.</summary>
    private static List<Observation> Batch(int index) =>
        [.. Enumerable.Range(0, ProbesPerBatch).SelectMany(i => Report003.ObservationsFor(Node, (uint)((index * ProbesPerBatch) + i + 1)))];

    private static async Task StoredAsync(TestCorrelator correlator, int count) =>
        await TestCorrelator.EventuallyAsync(
            async token => (await correlator.Query.ListProbesAsync(new ListProbesRequest { Limit = 1 }, cancellationToken: token)).Matched,
            matched => matched >= (ulong)count, $"{count} probes stored", TimeSpan.FromSeconds(20));

    /// <summary>Writes until the filesystem refuses: what is left is less than a page.</summary>
    private static string Fill(string path)
    {
        var chunk = new byte[64 * 1024];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                file.Write(chunk);
            }
        }
        catch (IOException)
        {
            // Full: the last chunk may be partly written; fill the rest byte-wise by smaller chunks.
        }

        foreach (var size in (int[])[4096, 512, 1])
        {
            try
            {
                while (true)
                {
                    file.Write(chunk.AsSpan(0, size));
                }
            }
            catch (IOException)
            {
            }
        }

        return path;
    }

    private static int Run(string file, params string[] args)
    {
        using var process = Process.Start(file, args);
        process.WaitForExit();
        return process.ExitCode;
    }
}
