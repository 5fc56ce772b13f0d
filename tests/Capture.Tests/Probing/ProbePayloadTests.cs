using HopCapture.Agent.Probing;
using HopCapture.Packets.Decoding;
using HopCapture.Tests.Packets;

namespace HopCapture.Tests.Probing;

public sealed class ProbePayloadTests
{
    [Test]
    public void Write_ThenRead_RoundTripsSendTimeAndTag()
    {
        var payload = new byte[56];
        ProbePayload.Write(payload, 1_764_000_000_123_456_789, 0xCAFEF00D);

        Assert.That(ProbePayload.TryRead(payload, out var sendNs, out var tag), Is.True);
        Assert.That(sendNs, Is.EqualTo(1_764_000_000_123_456_789));
        Assert.That(tag, Is.EqualTo(0xCAFEF00D));
        Assert.That(payload[16..], Is.All.Zero, "padding after the 16 marked bytes");
    }

    [Test]
    public void TryRead_ForeignPayload_IsNotOurs()
    {
        var payload = new byte[56];
        payload.AsSpan().Fill(0x42); // what iputils ping sends after its timestamp

        Assert.That(ProbePayload.TryRead(payload, out _, out _), Is.False);
    }

    [Test]
    public void Hash_EqualsWhatTheCaptureDecoderComputesForTheSameFrame()
    {
        var payload = new byte[56];
        ProbePayload.Write(payload, 1_764_000_000_000_000_001, 7);
        var frame = Frames.Ethernet(0x0800, Frames.IPv4("10.77.0.11", "10.77.0.12", 1, Frames.Icmp(8, 4242, 9, payload)));

        Assert.That(EchoDecoder.Decode(frame, LinkType.Ethernet, (uint)frame.Length, out var echo), Is.EqualTo(DecodeStatus.Ok));
        Assert.That(ProbePayload.Hash(payload.AsSpan(0, ProbePayload.HeaderBytes)), Is.EqualTo(echo.PayloadHash),
            "the app point's key must join the capture points' key");
    }
}
