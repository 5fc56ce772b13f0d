using System.Diagnostics;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Spool;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using HopCapture.Tests.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace HopCapture.Tests.Agent.Spool;

/// <summary>The spool source on a real directory: order, cache and disk, acks, bounds, restarts.</summary>
public class SpoolBatchSourceTests
{
    private const long SmallSpool = 1L << 20;
    private string _directory = "";

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "hopcapture-spool-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    internal static CapturedObservation[] Observations(int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => new CapturedObservation(
            new HopCapture.Engine.Model.Observation(1, 1_700_000_000_000_000_000L + i, IpAddress128.FromIPv4(0x0A000001), IpAddress128.FromIPv4(0x0A000002),
                7, (ushort)i, 0xABCD, HopCapture.Engine.Model.EchoType.Request, PacketDirection.Out),
            98, 100))];

    private SpoolBatchSource Open(long maxBytes = SmallSpool) => SpoolBatchSource.Open(_directory, maxBytes, NullLogger.Instance);

    private static List<ObservationBatch> ReadAll(SpoolBatchSource source, ulong after = 0)
    {
        var batches = new List<ObservationBatch>();
        while (source.TryGetAfter(after, out var batch))
        {
            batches.Add(batch);
            after = batch.Seq;
        }

        return batches;
    }

    [Test]
    public void TryGetAfter_RecentBatches_ComeFromTheCacheInOrder()
    {
        using var source = Open();
        for (var i = 0; i < 5; i++)
        {
            Assert.That(source.Seal(Observations(i * 10, 10)), Is.EqualTo((ulong)i + 1));
        }

        var batches = ReadAll(source);
        Assert.Multiple(() =>
        {
            Assert.That(batches.Select(b => b.Seq), Is.EqualTo(new ulong[] { 1, 2, 3, 4, 5 }));
            Assert.That(batches.SelectMany(PackedObservationsTests.Unpack).Select(o => (int)o.IcmpSeq), Is.EqualTo(Enumerable.Range(0, 50)));
            Assert.That(batches[0].Observations, Is.Empty, "sent packed");
            Assert.That(PackedObservationsTests.Unpack(batches[0])[0], Is.EqualTo(Observations(0, 1)[0].Observation));
            Assert.That(source.Statistics().ReplayedBatches, Is.Zero, "nothing read from disk");
            Assert.That(source.PendingObservations, Is.EqualTo(50));
        });
    }

    [Test]
    public void TryGetAfter_OlderThanTheCache_ReadsThemFromDiskThenTheCache()
    {
        using var source = Open();
        var sealedCount = SpoolBatchSource.CacheBatches + 20;
        for (var i = 0; i < sealedCount; i++)
        {
            source.Seal(Observations(i, 1));
        }

        var batches = ReadAll(source);
        Assert.Multiple(() =>
        {
            Assert.That(batches.Select(b => b.Seq), Is.EqualTo(Enumerable.Range(1, sealedCount).Select(i => (ulong)i)));
            Assert.That(batches.Select(b => (int)PackedObservationsTests.Unpack(b)[0].IcmpSeq), Is.EqualTo(Enumerable.Range(0, sealedCount)));
            Assert.That(source.Statistics().ReplayedBatches, Is.EqualTo(20), "the 20 oldest came from disk");
        });
    }

    [Test]
    public void AckThrough_DeletesSealedSegmentsAndForgetsBatches()
    {
        using var source = Open();
        for (var i = 0; i < 100; i++)
        {
            source.Seal(Observations(i, 100)); // 6 KB each into 64 KiB segments, 600 KB in all (no drop)
        }

        var before = source.Statistics().Bytes;
        source.AckThrough(75);
        var stats = source.Statistics();
        Assert.Multiple(() =>
        {
            Assert.That(stats.DroppedBatches, Is.Zero);
            Assert.That(source.FirstSeq, Is.EqualTo(76));
            Assert.That(source.TryGetAfter(0, out var next) ? next.Seq : 0, Is.EqualTo(76), "acked batches are not sent again");
            Assert.That(stats.PendingBatches, Is.EqualTo(25));
            Assert.That(source.PendingObservations, Is.EqualTo(2500));
            Assert.That(stats.Bytes, Is.LessThan(before / 2), "segments wholly acked are deleted");
            Assert.That(source.IsEmpty, Is.False);
        });
        source.AckThrough(100);
        Assert.That(source.IsEmpty, Is.True);
    }

    [Test]
    public void Seal_SpoolFull_DropsOldestCountsThemAndKeepsTheNewest()
    {
        using var source = Open();
        const int Batches = 400; // 400 × 6 KB = 2.4 MB into a 1 MiB spool, nothing acked
        for (var i = 0; i < Batches; i++)
        {
            source.Seal(Observations(i, 100));
        }

        var stats = source.Statistics();
        var held = ReadAll(source);
        Assert.Multiple(() =>
        {
            Assert.That(stats.Bytes, Is.LessThanOrEqualTo((ulong)SmallSpool));
            Assert.That(stats.DroppedBatches, Is.GreaterThan(200));
            Assert.That(stats.DroppedObservations, Is.EqualTo(stats.DroppedBatches * 100));
            Assert.That(source.DroppedObservations, Is.EqualTo((long)stats.DroppedObservations));
            Assert.That(held.First().Seq, Is.EqualTo(stats.DroppedBatches + 1), "exactly the oldest were dropped");
            Assert.That(held.Last().Seq, Is.EqualTo((ulong)Batches), "the newest is kept");
            Assert.That(held.Select(b => b.Seq), Is.EqualTo(Enumerable.Range((int)stats.DroppedBatches + 1, held.Count).Select(i => (ulong)i)));
            Assert.That((ulong)held.Count + stats.DroppedBatches, Is.EqualTo((ulong)Batches));
            Assert.That(source.PendingObservations, Is.EqualTo(held.Count * 100));
        });
    }

    [Test]
    public void Open_AfterRestart_ReplaysUnackedInOrderAndContinuesSeqs()
    {
        using (var first = Open())
        {
            for (var i = 0; i < 30; i++)
            {
                first.Seal(Observations(i * 10, 10));
            }

            first.AckThrough(12);
        }

        using var second = Open();
        var batches = ReadAll(second, second.FirstSeq - 1);
        Assert.Multiple(() =>
        {
            // Acked batches in the still-active segment come back (the correlator skips them by resume_after_seq).
            Assert.That(second.FirstSeq, Is.EqualTo(1));
            Assert.That(batches.Select(b => b.Seq), Is.EqualTo(Enumerable.Range(1, 30).Select(i => (ulong)i)));
            Assert.That(second.Statistics().RecoveredBatches, Is.EqualTo(30));
            Assert.That(second.PendingObservations, Is.EqualTo(300));
            Assert.That(second.Seal(Observations(0, 1)), Is.EqualTo(31), "numbering continues");
        });
        second.AckThrough(12); // Welcome.resume_after_seq
        Assert.That(second.TryGetAfter(0, out var next) ? next.Seq : 0, Is.EqualTo(13));
    }

    [Test]
    public void Open_TornTail_IsCutCountedAndTheWholeBatchesKept()
    {
        using (var first = Open())
        {
            for (var i = 0; i < 10; i++)
            {
                first.Seal(Observations(i * 10, 10));
            }
        }

        // A kill in the middle of a write: a record header promising 610 bytes, 100 of them written.
        var segment = Directory.GetFiles(_directory, "*.seg").Order().Last();
        using (var stream = new FileStream(segment, FileMode.Append))
        {
            var torn = new byte[108];
            BitConverter.TryWriteBytes(torn, 610);
            stream.Write(torn);
        }

        using var second = Open();
        var stats = second.Statistics();
        Assert.Multiple(() =>
        {
            Assert.That(stats.TornBytes, Is.EqualTo(108));
            Assert.That(stats.RecoveredBatches, Is.EqualTo(10));
            Assert.That(ReadAll(second).Select(b => b.Seq), Is.EqualTo(Enumerable.Range(1, 10).Select(i => (ulong)i)));
            Assert.That(second.Seal(Observations(0, 1)), Is.EqualTo(11));
        });
    }

    [Test]
    public void AckThrough_CorrelatorAheadOfTheSpool_SkipsAheadAndCountsWhatItSkipped()
    {
        using var source = Open();
        source.Seal(Observations(0, 5));
        source.Seal(Observations(5, 5));

        // The correlator holds seqs through 500 from this identity (the spool was lost or replaced).
        source.AckThrough(500);
        var seq = source.Seal(Observations(10, 5));
        Assert.Multiple(() =>
        {
            Assert.That(seq, Is.EqualTo(501));
            Assert.That(source.FirstSeq, Is.EqualTo(501));
            Assert.That(source.TryGetAfter(500, out var next) ? next.Seq : 0, Is.EqualTo(501));
            Assert.That(source.Statistics().DroppedBatches, Is.EqualTo(2));
            Assert.That(source.DroppedObservations, Is.EqualTo(10));
            Assert.That(source.PendingObservations, Is.EqualTo(5));
        });
    }

    [Test]
    public void Open_DirectoryIsAFile_OneClearErrorNamingThePathAndKey()
    {
        File.WriteAllText(_directory, "not a directory");
        try
        {
            var ex = Assert.Throws<AgentStateException>(() => Open());
            Assert.That(ex!.Message, Does.StartWith($"Agent:Spool:Directory: cannot open the spool '{_directory}'"));
        }
        finally
        {
            File.Delete(_directory);
        }
    }

    [Test]
    public void Seal_Cost_MeasuredAgainstProtoSerialisation()
    {
        // Not a pass/fail benchmark: prints what one sealed batch costs on this machine (README).
        using var source = Open(256L << 20);
        var batch = Observations(0, 1000);
        for (var i = 0; i < 20; i++)
        {
            source.Seal(batch);
        }

        const int Rounds = 300;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Rounds; i++)
        {
            source.Seal(batch);
        }

        var spool = watch.Elapsed.TotalMicroseconds / Rounds;
        watch.Restart();
        var bytes = 0;
        for (var i = 0; i < Rounds; i++)
        {
            source.TryGetAfter((ulong)(20 + i), out var proto);
            bytes += Google.Protobuf.MessageExtensions.ToByteArray(proto!).Length;
        }

        var proto1000 = watch.Elapsed.TotalMicroseconds / Rounds;
        TestContext.Out.WriteLine($"seal (encode 1000 observations, append, write to the kernel): {spool:0} µs/batch; " +
            $"build + serialise the same batch as a proto (what sending costs anyway): {proto1000:0} µs/batch, {bytes / Rounds} bytes vs {SpoolCodec.Size(1000)}");
        Assert.That(spool, Is.GreaterThan(0));
    }
}
