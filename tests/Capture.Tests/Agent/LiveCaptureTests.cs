using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Agent;

/// <summary>
/// Real libpcap capture on both ends of a veth between two namespaces this test creates, started
/// inside each namespace (<see cref="NetnsCapture"/>).
/// </summary>
[NonParallelizable]
public class LiveCaptureTests
{
    private readonly string _nsA = $"hct-a-{Environment.ProcessId}";
    private readonly string _nsB = $"hct-b-{Environment.ProcessId}";
    private readonly List<CaptureService> _services = [];

    [SetUp]
    public void SetUp() => NetnsCapture.CreateVethPair(_nsA, "hcva", "10.77.200.1", _nsB, "hcvb", "10.77.200.2");

    [TearDown]
    public void TearDown() => NetnsCapture.TearDown(_services, _nsA, _nsB);

    [Test]
    public async Task Capture_PingAcrossVeth_RequestsAndRepliesWithKernelDirectionAndNanoseconds()
    {
        var queueA = StartCaptureIn(_nsA, "hcva");
        var queueB = StartCaptureIn(_nsB, "hcvb");

        // libpcap filters the first ring frame after pcap_setfilter in user space, where
        // inbound/outbound cannot be evaluated (see LiveCaptureHandle.Open): warm-up echoes with
        // another id absorb that, until each of the four handles has captured one (a single echo
        // could come before a handle was reading, and then id 4242's first frame was the lost one).
        // Only id 4242 is checked.
        var warm = new HashSet<(char Side, EchoType Type)>();
        for (var attempt = 0; attempt < 5 && warm.Count < 4; attempt++)
        {
            var warmUp = await Task.Run(() => Run("ip", $"netns exec {_nsA} ping -c 1 -W 2 -e 4241 -n 10.77.200.2")).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That(warmUp.ExitCode, Is.Zero, warmUp.Output);
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            foreach (var (side, queue) in new[] { ('a', queueA), ('b', queueB) })
            {
                while (queue.Reader.TryRead(out var captured))
                {
                    warm.Add((side, captured.Observation.Type));
                }
            }
        }

        Assert.That(warm, Has.Count.EqualTo(4), "every handle captured a warm-up echo");
        var ping = await Task.Run(() => Run("ip", $"netns exec {_nsA} ping -c 5 -i 0.2 -W 2 -e 4242 -n 10.77.200.2")).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(ping.ExitCode, Is.Zero, ping.Output);

        var a = await DrainAsync(queueA, 10);
        var b = await DrainAsync(queueB, 10);

        var hostA = IpAddress128.FromIPv4(0x0A4DC801);
        var hostB = IpAddress128.FromIPv4(0x0A4DC802);
        Assert.Multiple(() =>
        {
            // The sender's side: requests leave, replies arrive.
            Assert.That(a.Where(o => o.Type == EchoType.Request).Select(o => o.Direction), Is.EqualTo(Enumerable.Repeat(PacketDirection.Out, 5)));
            Assert.That(a.Where(o => o.Type == EchoType.Reply).Select(o => o.Direction), Is.EqualTo(Enumerable.Repeat(PacketDirection.In, 5)));
            // The responder's side: the opposite.
            Assert.That(b.Where(o => o.Type == EchoType.Request).Select(o => o.Direction), Is.EqualTo(Enumerable.Repeat(PacketDirection.In, 5)));
            Assert.That(b.Where(o => o.Type == EchoType.Reply).Select(o => o.Direction), Is.EqualTo(Enumerable.Repeat(PacketDirection.Out, 5)));
            Assert.That(a.Where(o => o.Type == EchoType.Request).Select(o => (o.Src, o.Dst)), Has.All.EqualTo((hostA, hostB)));
            Assert.That(b.Where(o => o.Type == EchoType.Reply).Select(o => (o.Src, o.Dst)), Has.All.EqualTo((hostB, hostA)));
            Assert.That(a.Select(o => (int)o.IcmpSeq).Distinct().Order(), Is.EqualTo(Enumerable.Range(1, 5)));
            Assert.That(a.Concat(b), Has.All.Matches<Observation>(o => o.PayloadHash != 0));
            // Nanosecond resolution: microsecond timestamps would all be multiples of 1000.
            Assert.That(a.Concat(b).Count(o => o.TimestampNs % 1000 != 0), Is.GreaterThan(10));
        });

        // One clock on both ends: per probe, the request reaches B after leaving A, and the reply
        // reaches A after leaving B, and the round trip shrinks towards the responder.
        foreach (var seq in Enumerable.Range(1, 5))
        {
            var aReq = a.Single(o => o.IcmpSeq == seq && o.Type == EchoType.Request);
            var aRep = a.Single(o => o.IcmpSeq == seq && o.Type == EchoType.Reply);
            var bReq = b.Single(o => o.IcmpSeq == seq && o.Type == EchoType.Request);
            var bRep = b.Single(o => o.IcmpSeq == seq && o.Type == EchoType.Reply);
            Assert.Multiple(() =>
            {
                Assert.That(bReq.TimestampNs, Is.GreaterThanOrEqualTo(aReq.TimestampNs));
                Assert.That(aRep.TimestampNs, Is.GreaterThanOrEqualTo(bRep.TimestampNs));
                Assert.That(aRep.TimestampNs - aReq.TimestampNs, Is.GreaterThan(bRep.TimestampNs - bReq.TimestampNs));
                Assert.That(aReq.PayloadHash, Is.EqualTo(bReq.PayloadHash));
            });
        }
    }

    private ObservationQueue StartCaptureIn(string netns, string iface)
    {
        var options = new AgentOptions { Node = netns, Interfaces = [new InterfaceOptions { Name = iface, Role = "nic" }] };
        var queue = new ObservationQueue(1024);
        _services.Add(NetnsCapture.StartIn(netns, options, queue));
        return queue;
    }

    private static Task<List<Observation>> DrainAsync(ObservationQueue queue, int expected) => NetnsCapture.DrainAsync(queue, 4242, expected);

    private static (int ExitCode, string Output) Run(string file, string args) => NetnsCapture.Run(file, args);
}
