using HopCapture.Engine.Model;
using HopCapture.Packets.Files;
using HopCapture.Tests.Support;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace HopCapture.Tests.Packets;

public class CaptureFileReaderTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "hopcapture-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static void WritePcap(string path, IEnumerable<(ulong Seconds, ulong Nanos, byte[] Frame, int Snaplen)> records)
    {
        using var writer = new CaptureFileWriterDevice(path, FileMode.Create);
        writer.Open(new DeviceConfiguration
        {
            LinkLayerType = LinkLayers.Ethernet,
            TimestampResolution = TimestampResolution.Nanosecond,
            Snaplen = 65535,
        });
        foreach (var (seconds, nanos, frame, snaplen) in records)
        {
            var captured = frame.AsSpan(0, Math.Min(snaplen, frame.Length));
            var header = new PcapHeader(0, 0, (uint)frame.Length, (uint)captured.Length)
            {
                Timeval = new PosixTimeval(seconds, nanos, TimestampResolution.Nanosecond),
            };
            writer.Write(captured, ref header);
        }
    }

    [Test]
    public void ReadObservations_NanosecondPcap_KeepsEveryNanosecond()
    {
        var path = Path.Combine(_dir, "ns.pcap");
        WritePcap(path,
        [
            (1_700_000_000, 123_456_789, Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 42, 1), 65535),
            (1_700_000_000, 123_999_001, Frames.EthernetEcho(0, "10.0.0.2", "10.0.0.1", 42, 1), 65535),
            (1_700_000_001, 5, Frames.Ethernet(0x0806, new byte[28]), 65535),
        ]);

        var summary = CaptureFileReader.ReadObservations(path, iface: 3);

        Assert.Multiple(() =>
        {
            Assert.That(summary.Records, Is.EqualTo(3));
            Assert.That(summary.NotEcho, Is.EqualTo(1));
            Assert.That(summary.FileTruncated, Is.False);
            Assert.That(summary.Observations, Has.Count.EqualTo(2));
        });
        var request = summary.Observations[0];
        var reply = summary.Observations[1];
        Assert.Multiple(() =>
        {
            Assert.That(request.TimestampNs, Is.EqualTo(1_700_000_000_123_456_789L));
            Assert.That(reply.TimestampNs, Is.EqualTo(1_700_000_000_123_999_001L));
            Assert.That(request.Iface, Is.EqualTo(3));
            Assert.That(request.Type, Is.EqualTo(EchoType.Request));
            Assert.That(reply.Type, Is.EqualTo(EchoType.Reply));
            Assert.That(request.IcmpId, Is.EqualTo(42));
            Assert.That(request.Src, Is.EqualTo(reply.Dst));
            Assert.That(request.PayloadHash, Is.EqualTo(reply.PayloadHash).And.Not.Zero);
            Assert.That(request.Direction, Is.EqualTo(PacketDirection.Unknown));
        });
    }

    [Test]
    public void ReadObservations_FileCutMidRecord_KeepsRecordsBeforeTheCut()
    {
        var path = Path.Combine(_dir, "cut.pcap");
        WritePcap(path, Enumerable.Range(1, 5).Select(i =>
            ((ulong)1_700_000_000, (ulong)i, Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, (ushort)i), 65535)));
        using (var stream = new FileStream(path, FileMode.Open))
        {
            stream.SetLength(stream.Length - 30); // cut inside the fifth record's data
        }

        var summary = CaptureFileReader.ReadObservations(path, iface: 0);

        Assert.Multiple(() =>
        {
            Assert.That(summary.FileTruncated, Is.True, summary.Error);
            Assert.That(summary.Records, Is.EqualTo(4));
            Assert.That(summary.Observations.Select(o => (int)o.IcmpSeq), Is.EqualTo(Enumerable.Range(1, 4)));
            Assert.That(summary.Error, Does.Contain("truncated"));
        });
    }

    [Test]
    public void ReadObservations_SnaplenDiffers_PayloadHashesAgree()
    {
        var full = Path.Combine(_dir, "full.pcap");
        var snap = Path.Combine(_dir, "snap64.pcap");
        var frame = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 9, 9, payloadLength: 1000);
        WritePcap(full, [(1, 0, frame, 65535)]);
        WritePcap(snap, [(1, 0, frame, 64)]);

        var a = CaptureFileReader.ReadObservations(full, 0).Observations.Single();
        var b = CaptureFileReader.ReadObservations(snap, 0).Observations.Single();

        Assert.That(b.PayloadHash, Is.EqualTo(a.PayloadHash).And.Not.Zero);
    }

    [Test]
    public void Open_MissingFile_ThrowsWithPath()
    {
        var path = Path.Combine(_dir, "nope.pcap");
        var ex = Assert.Throws<CaptureFileException>(() => CaptureFileReader.Open(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("does not exist"));
    }

    [Test]
    public void Open_NotAPcap_ThrowsReadableMessage()
    {
        var path = Path.Combine(_dir, "text.pcap");
        File.WriteAllText(path, "this is not a capture file at all");
        var ex = Assert.Throws<CaptureFileException>(() => CaptureFileReader.Open(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("cannot be read"));
    }

    [Test]
    public void Read_PcapngPacketLengthOf2GiB_ReportsCorruptionAndKeepsWhatCameBefore()
    {
        // Found by fuzzing: a captured length of 2^31 or more turned negative and passed the bounds check.
        var path = Path.Combine(Path.GetTempPath(), $"hc-huge-{Guid.NewGuid():N}.pcapng");
        try
        {
            using (var builder = new PcapFileBuilder(path, format: PcapFormat.Pcapng))
            {
                builder.AddInterface("eth1");
                for (ushort seq = 1; seq <= 2; seq++)
                {
                    builder.AddEcho(seq * 1_000_000_000L, System.Net.IPAddress.Parse("10.0.0.1"), System.Net.IPAddress.Parse("10.0.0.2"), true, 7, seq, seq);
                }
            }

            var bytes = File.ReadAllBytes(path);
            var last = LastBlockOfType(bytes, 6);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(last + 20), 0x8000_0000);
            File.WriteAllBytes(path, bytes);

            var read = CaptureFileReader.ReadObservations(path, 0);

            Assert.Multiple(() =>
            {
                Assert.That(read.Observations, Has.Count.EqualTo(1), "the packet before the broken block is kept");
                Assert.That(read.Error, Does.Contain("overruns its block"));
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static int LastBlockOfType(byte[] file, uint type)
    {
        int offset = 0, found = -1;
        while (offset + 8 <= file.Length)
        {
            var blockType = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset));
            var length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 4));
            if (blockType == type)
            {
                found = offset;
            }

            offset += length;
        }

        return found;
    }
}
