using HopCapture.Agent.Traffic;
using HopCapture.Engine.Model;
using HopCapture.Packets.Files;
using HopCapture.Tests.Packets;

namespace HopCapture.Tests.Traffic;

public class PacketRingTests
{
    private const long Second = 1_000_000_000;
    private const long T0 = 1_764_547_200L * Second;

    private static List<(long Ts, PacketDirection Direction, int Captured, uint Wire, string? Iface)> ReadBack(byte[] pcapng)
    {
        using var parser = CaptureFileParser.Open(new MemoryStream(pcapng), "slice.pcapng");
        var list = new List<(long, PacketDirection, int, uint, string?)>();
        while (parser.TryRead(out var record))
        {
            list.Add((record.TimestampNs, record.Direction, record.Frame.Length, record.WireLength, parser.Interfaces[record.InterfaceIndex].Name));
        }

        return list;
    }

    [Test]
    public void WriteSlice_WindowOfBothDirections_PcapngWithNameDirectionAndTimeOrder()
    {
        var ring = new PacketRing(1 << 20, 128, TimeSpan.FromMinutes(2));
        var echo = Frames.EthernetEcho(8, "10.77.0.11", "10.77.0.12", 7, 1);
        var bulk = Frames.Ethernet(0x0800, Frames.IPv4("10.77.0.3", "10.77.0.1", 17, Frames.Udp(5201, new byte[1200])));
        ring.Add(T0, PacketDirection.Out, (uint)echo.Length, echo);
        ring.Add(T0 + (2 * Second), PacketDirection.In, (uint)bulk.Length, bulk);
        ring.Add(T0 + Second, PacketDirection.In, (uint)echo.Length, echo); // the other direction's thread was late
        ring.Add(T0 + (9 * Second), PacketDirection.In, (uint)bulk.Length, bulk);

        using var output = new MemoryStream();
        var (packets, truncated) = ring.WriteSlice(output, "eno1", T0, T0 + (5 * Second), 1 << 20);
        var read = ReadBack(output.ToArray());

        Assert.That((packets, truncated), Is.EqualTo((3, false)));
        Assert.That(read.Select(r => r.Ts), Is.EqualTo(new[] { T0, T0 + Second, T0 + (2 * Second) }));
        Assert.That(read.Select(r => r.Direction), Is.EqualTo(new[] { PacketDirection.Out, PacketDirection.In, PacketDirection.In }));
        Assert.That(read.Select(r => r.Iface), Has.All.EqualTo("eno1"));
        Assert.That(read[2], Is.EqualTo((T0 + (2 * Second), PacketDirection.In, 128, (uint)bulk.Length, (string?)"eno1")), "cut at the ring's snap length, wire length kept");
    }

    [Test]
    public void Add_MoreThanTheRingHolds_OldestOverwrittenAndMaxAgeHonoured()
    {
        var ring = new PacketRing(10 * (64 + 16), 64, TimeSpan.FromSeconds(30));
        var echo = Frames.EthernetEcho(8, "10.77.0.11", "10.77.0.12", 7, 1);
        for (var i = 0; i < 25; i++)
        {
            ring.Add(T0 + (i * Second), PacketDirection.Out, (uint)echo.Length, echo);
        }

        using var all = new MemoryStream();
        ring.WriteSlice(all, "eth0", 0, long.MaxValue, 1 << 20);
        Assert.That(ReadBack(all.ToArray()).Select(r => r.Ts), Is.EqualTo(Enumerable.Range(15, 10).Select(i => T0 + (i * Second))));

        var aged = new PacketRing(1 << 20, 64, TimeSpan.FromSeconds(5));
        for (var i = 0; i < 25; i++)
        {
            aged.Add(T0 + (i * Second), PacketDirection.Out, (uint)echo.Length, echo);
        }

        using var recent = new MemoryStream();
        aged.WriteSlice(recent, "eth0", 0, long.MaxValue, 1 << 20);
        Assert.That(ReadBack(recent.ToArray()).First().Ts, Is.EqualTo(T0 + (19 * Second)), "older than 5 s behind the newest: not served");
    }

    [Test]
    public void WriteSlice_OverTheSizeLimit_CutShortAndSaysSo()
    {
        var ring = new PacketRing(1 << 20, 128, TimeSpan.FromMinutes(2));
        var bulk = Frames.Ethernet(0x0800, Frames.IPv4("10.77.0.3", "10.77.0.1", 17, Frames.Udp(5201, new byte[1200])));
        for (var i = 0; i < 100; i++)
        {
            ring.Add(T0 + i, PacketDirection.In, (uint)bulk.Length, bulk);
        }

        using var output = new MemoryStream();
        var (packets, truncated) = ring.WriteSlice(output, "eno1", T0, T0 + Second, 4096);

        Assert.That(truncated, Is.True);
        Assert.That(packets, Is.InRange(1, 99));
        Assert.That(output.Length, Is.LessThanOrEqualTo(4096));
        Assert.That(ReadBack(output.ToArray()), Has.Count.EqualTo(packets));
    }
}
