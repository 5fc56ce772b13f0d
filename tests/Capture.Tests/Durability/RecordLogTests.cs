using System.Text;
using HopCapture.Durability;

namespace HopCapture.Tests.Durability;

/// <summary>The on-disk record log under the agent spool and the correlator journal: numbering, torn tails, bounds.</summary>
public class RecordLogTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), $"hc-recordlog-{Guid.NewGuid():N}");

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static byte[] Payload(int i) => Encoding.UTF8.GetBytes($"record {i} " + new string('x', i % 50));

    private static string Text(byte[] payload) => Encoding.UTF8.GetString(payload);

    [Test]
    public void Append_Reopen_RecordsAndNumberingSurvive()
    {
        using (var log = RecordLog.Open(_dir))
        {
            for (var i = 1; i <= 100; i++)
            {
                Assert.That(log.Append(Payload(i)), Is.EqualTo((ulong)i));
            }
        }

        using var reopened = RecordLog.Open(_dir);
        Assert.That(reopened.Recovery.CutBytes, Is.Zero);
        Assert.That(reopened.Count, Is.EqualTo(100));
        Assert.That(reopened.NextIndex, Is.EqualTo(101UL));
        using var reader = reopened.OpenReader();
        var read = reader.ReadFrom(40).ToList();
        Assert.That(read.Select(r => r.Index), Is.EqualTo(Enumerable.Range(40, 61).Select(i => (ulong)i)));
        Assert.That(Text(read[0].Payload), Is.EqualTo(Text(Payload(40))));
    }

    [Test]
    public void Reader_SeesUnflushedAppendsOfTheWriter()
    {
        using var log = RecordLog.Open(_dir);
        using var reader = log.OpenReader();
        log.Append(Payload(1));
        Assert.That(reader.TryReadAtOrAfter(1, out var found, out var payload), Is.True);
        Assert.That((found, Text(payload)), Is.EqualTo((1UL, Text(Payload(1)))));
        Assert.That(reader.TryReadAtOrAfter(2, out _, out _), Is.False);
    }

    [TestCase(3)]   // inside the record header
    [TestCase(11)]  // inside the payload
    public void Open_TornTail_IsCutCountedAndAppendsContinue(int keepOfLast)
    {
        using (var log = RecordLog.Open(_dir))
        {
            for (var i = 1; i <= 10; i++)
            {
                log.Append(Payload(i));
            }
        }

        var segment = Directory.GetFiles(_dir).Single();
        var lastLength = RecordLog.RecordHeaderBytes + Payload(10).Length;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.SetLength(file.Length - lastLength + keepOfLast);
        }

        using var reopened = RecordLog.Open(_dir);
        Assert.That(reopened.Recovery.CutBytes, Is.EqualTo(keepOfLast));
        Assert.That(reopened.Recovery.Describe(), Does.Contain($"cut {keepOfLast} bytes"));
        Assert.That(reopened.Count, Is.EqualTo(9));
        Assert.That(reopened.Append(Payload(99)), Is.EqualTo(10UL), "the torn record's index is reused by the next whole one");
        using var reader = reopened.OpenReader();
        Assert.That(reader.ReadFrom(1).Select(r => Text(r.Payload)).Last(), Is.EqualTo(Text(Payload(99))));
    }

    [Test]
    public void Open_FlippedByte_CutsAtTheCorruptRecord()
    {
        using (var log = RecordLog.Open(_dir))
        {
            for (var i = 1; i <= 10; i++)
            {
                log.Append(Payload(i));
            }
        }

        var segment = Directory.GetFiles(_dir).Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(segment, bytes);

        using var reopened = RecordLog.Open(_dir);
        Assert.That(reopened.Count, Is.EqualTo(9));
        Assert.That(reopened.Recovery.CutBytes, Is.EqualTo(RecordLog.RecordHeaderBytes + Payload(10).Length));
    }

    [Test]
    public void Open_GarbageAndEmptySegmentFiles_DoNotStopTheStart()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllBytes(Path.Combine(_dir, "00000000000000000001.seg"), [1, 2, 3]);
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not a segment");

        using var log = RecordLog.Open(_dir);
        Assert.That(log.Recovery.CutSegments, Is.EqualTo(1));
        Assert.That(log.Append(Payload(1)), Is.EqualTo(1UL));
    }

    [Test]
    public void Append_BeyondMaxBytes_DropsOldestSegmentsAndCountsThem()
    {
        var options = new RecordLogOptions { SegmentBytes = 4096, MaxBytes = 16384 };
        using var log = RecordLog.Open(_dir, options);
        var record = new byte[500];
        for (var i = 0; i < 200; i++)
        {
            log.Append(record);
        }

        Assert.That(log.Bytes, Is.LessThanOrEqualTo(16384));
        Assert.That(log.DroppedRecords, Is.GreaterThan(150));
        Assert.That(log.DroppedRecords + log.Count, Is.EqualTo(200));
        Assert.That(log.NextIndex, Is.EqualTo(201UL));
        using var reader = log.OpenReader();
        Assert.That(reader.TryReadAtOrAfter(1, out var oldest, out _), Is.True);
        Assert.That(oldest, Is.EqualTo(log.FirstIndex), "a read of a dropped index lands on the oldest record held");
    }

    [Test]
    public void DeleteThrough_KeepsTheNumberingEvenWhenEverythingIsDeleted()
    {
        var options = new RecordLogOptions { SegmentBytes = 4096 };
        using (var log = RecordLog.Open(_dir, options))
        {
            for (var i = 0; i < 50; i++)
            {
                log.Append(new byte[400]);
            }

            var deleted = log.DeleteThrough(50);
            Assert.That(deleted, Is.GreaterThan(0));
            log.AdvanceTo(log.NextIndex);
        }

        using var reopened = RecordLog.Open(_dir, options);
        Assert.That(reopened.NextIndex, Is.EqualTo(51UL));
    }

    [Test]
    public void AdvanceTo_SkipsAheadAcrossRestarts()
    {
        using (var log = RecordLog.Open(_dir))
        {
            log.Append(Payload(1));
            log.AdvanceTo(1000);
            Assert.That(log.Append(Payload(2)), Is.EqualTo(1000UL));
        }

        using var reopened = RecordLog.Open(_dir);
        Assert.That(reopened.NextIndex, Is.EqualTo(1001UL));
        using var reader = reopened.OpenReader();
        Assert.That(reader.ReadFrom(1).Select(r => r.Index), Is.EqualTo(new ulong[] { 1, 1000 }));
    }

    [Test]
    public void Append_RecordAboveTheLimit_IsRefused()
    {
        using var log = RecordLog.Open(_dir, new RecordLogOptions { MaxRecordBytes = 100 });
        Assert.That(() => log.Append(new byte[101]), Throws.ArgumentException.With.Message.Contains("101 bytes"));
    }

    /// <summary>A real full disk (a 256 KiB tmpfs): a failed append is taken back whole, nothing before it is lost.</summary>
    [Test]
    public void Append_DiskFull_FailedRecordTakenBackAndTheLogStaysWhole()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("mounting a tmpfs needs root");
        }

        Directory.CreateDirectory(_dir);
        Assert.That(Mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", _dir), Is.Zero);
        try
        {
            var logDir = Path.Combine(_dir, "log");
            var written = new List<ulong>();
            using (var log = RecordLog.Open(logDir, new RecordLogOptions { SegmentBytes = 1 << 20 }))
            {
                var failed = false;
                for (var i = 0; i < 1000 && !failed; i++)
                {
                    try
                    {
                        var index = log.Append(new byte[3000]);
                        log.Flush(toDisk: false);
                        written.Add(index);
                    }
                    catch (IOException)
                    {
                        failed = true;
                    }
                }

                Assert.That(failed, Is.True, "the tmpfs filled up");
                Assert.That(log.NextIndex, Is.EqualTo((ulong)written.Count + 1), "the failed record's index is taken back");
                Assert.That(log.Count, Is.EqualTo(written.Count));
            }

            using var reopened = RecordLog.Open(logDir);
            Assert.That(reopened.Recovery.CutBytes, Is.Zero, "no half-written record was left behind");
            Assert.That(reopened.Count, Is.EqualTo(written.Count));
        }
        finally
        {
            Mount("-u", _dir);
        }
    }

    private static int Mount(params string[] args)
    {
        var unmount = args[0] == "-u";
        using var process = System.Diagnostics.Process.Start(unmount ? "umount" : "mount", unmount ? args[1..] : args);
        process.WaitForExit();
        return process.ExitCode;
    }
}
