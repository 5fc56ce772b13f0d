using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using EngineEchoType = HopCapture.Engine.Model.EchoType;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Tests.Contracts;

public class PackedObservationsTests
{
    private static readonly EngineObservation V4 = new(
        3, 1_700_000_000_123_456_789L, IpAddress128.FromIPAddress(IPAddress.Parse("192.168.47.111")), IpAddress128.FromIPAddress(IPAddress.Parse("10.0.0.2")),
        21616, 65535, 0xDEADBEEF, EngineEchoType.Request, PacketDirection.Out);

    private static readonly EngineObservation V6 = new(
        65535, 1L, IpAddress128.FromIPAddress(IPAddress.Parse("2001:db8::1")), IpAddress128.FromIPAddress(IPAddress.Parse("fe80::a:b:c:d")),
        0, 1, 0, EngineEchoType.Reply, PacketDirection.Unknown);

    /// <summary>Records as a sender packs them (Hello index = the observation's Iface), wrapped as the wire carries them.</summary>
    internal static ByteString Pack(params EngineObservation[] observations)
    {
        var writer = new PackedBatchWriter(observations.Length);
        foreach (var observation in observations)
        {
            writer.Add(observation, observation.Iface);
        }

        return writer.Take();
    }

    /// <summary>Every record of a batch's packed field, as written.</summary>
    internal static EngineObservation[] Unpack(ObservationBatch batch) =>
    [
        .. Enumerable.Range(0, batch.Packed.Length / PackedObservations.RecordBytes)
            .Select(i => PackedObservations.Read(batch.Packed.Span.Slice(i * PackedObservations.RecordBytes, PackedObservations.RecordBytes))),
    ];

    [Test]
    public void Read_WhatWriteWrote_SameObservationsIPv4AndIPv6()
    {
        var packed = Pack(V4, V6).ToByteArray();

        Assert.Multiple(() =>
        {
            Assert.That(packed.Length, Is.EqualTo(2 * PackedObservations.RecordBytes));
            Assert.That(PackedObservations.Read(packed.AsSpan(0, 52)), Is.EqualTo(V4));
            Assert.That(PackedObservations.Read(packed.AsSpan(52)), Is.EqualTo(V6));
            Assert.That(IpAddress128.Format(PackedObservations.Read(packed.AsSpan(52)).Src), Is.EqualTo("2001:db8::1"));
            Assert.That(PackedObservations.Read(packed.AsSpan(0, 52), imported: true).Imported, Is.True);
        });
    }

    [Test]
    public void Write_Record_HasTheDocumentedLayout()
    {
        var record = Pack(V4).ToByteArray();

        Assert.Multiple(() =>
        {
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(record), Is.EqualTo(3), "iface");
            Assert.That(BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(2)), Is.EqualTo(V4.TimestampNs));
            // ::ffff:192.168.47.111 little-endian: the address bytes reversed, then ffff and zeros.
            Assert.That(record.AsSpan(10, 8).ToArray(), Is.EqualTo(new byte[] { 111, 47, 168, 192, 0xFF, 0xFF, 0, 0 }));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(42)), Is.EqualTo(21616), "icmp id");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(44)), Is.EqualTo(65535), "icmp seq");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(46)), Is.EqualTo(0xDEADBEEF));
            Assert.That(record[50], Is.EqualTo(1), "type request");
            Assert.That(record[51], Is.EqualTo(2), "direction out");
        });
    }

    [Test]
    public void Write_IfaceBeyond16Bits_Throws() =>
        Assert.That(() => Pack(V4 with { Iface = 65536 }), Throws.TypeOf<ArgumentOutOfRangeException>());

    [Test]
    public void TryRead_Checks_RefusesWithTheSameReasonsAsRepeated()
    {
        var ids = new[] { 10, 11, 12, 13 };
        string Problem(EngineObservation o, int patchAt = -1, byte value = 0)
        {
            var record = Pack(o).ToByteArray();
            if (patchAt >= 0)
            {
                record[patchAt] = value;
            }

            return PackedObservations.TryRead(record, ids, false, out _, out var problem) ? "" : problem;
        }

        Assert.Multiple(() =>
        {
            Assert.That(PackedObservations.TryRead(Pack(V4).Span, ids, true, out var ok, out _), Is.True);
            Assert.That(ok, Is.EqualTo(V4 with { Iface = 13, Imported = true }), "the Hello index becomes the catalog id");
            Assert.That(Problem(V4 with { Iface = 4 }), Is.EqualTo("iface 4 is out of range (the Hello lists 4 interfaces)"));
            Assert.That(Problem(V4, 50, 0), Is.EqualTo("type is not set (request or reply)"));
            Assert.That(Problem(V4, 50, 9), Is.EqualTo("type 9 is not request (1) or reply (2)"));
            Assert.That(Problem(V4 with { TimestampNs = 0 }), Is.EqualTo("ts_ns 0 is not a unix time in ns"));
            Assert.That(Problem(V4, 51, 3), Is.EqualTo("direction 3 is not unknown (0), in (1) or out (2)"));
            Assert.That(PackedObservations.LengthProblem(107), Is.EqualTo("packed is 107 bytes, not a multiple of 52"));
            Assert.That(PackedObservations.LengthProblem(104), Is.Null);
        });
    }

    [Test]
    public void Unpacked_PackedAfterRepeated_RepeatedObservationsInOrderOriginalKept()
    {
        var batch = new ObservationBatch { Seq = 7, Imported = true, Packed = Pack(V4, V6) };
        batch.Observations.Add(new Protos.Observation { Iface = 1, TsNs = 5 });

        var copy = PackedObservations.Unpacked(batch);

        Assert.Multiple(() =>
        {
            Assert.That(copy.Seq, Is.EqualTo(7));
            Assert.That(copy.Imported, Is.True);
            Assert.That(copy.Packed.IsEmpty, Is.True);
            Assert.That(copy.Observations.Select(o => o.TsNs), Is.EqualTo(new[] { 5L, V4.TimestampNs, V6.TimestampNs }));
            Assert.That(copy.Observations[1].Src.ToByteArray(), Is.EqualTo(new byte[] { 192, 168, 47, 111 }));
            Assert.That(copy.Observations[2].Dst.ToByteArray(), Is.EqualTo(IPAddress.Parse("fe80::a:b:c:d").GetAddressBytes()));
            Assert.That(copy.Observations[2].Iface, Is.EqualTo(65535));
            Assert.That(copy.Observations[2].Type, Is.EqualTo(Protos.EchoType.Reply));
            Assert.That(copy.Observations[2].Direction, Is.EqualTo(Direction.Unspecified));
            Assert.That(copy.Observations[1].IcmpSeq, Is.EqualTo(65535));
            Assert.That(copy.Observations[1].PayloadHash, Is.EqualTo(0xDEADBEEF));
            Assert.That(batch.Packed.Length, Is.EqualTo(104), "the original batch keeps its packed field");
        });
    }
}
