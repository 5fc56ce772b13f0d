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
    public void SetUp()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("live capture needs root");
        }

        if (Run("ip", "netns list").ExitCode != 0)
        {
            Assert.Ignore("ip netns does not work here");
        }

        Must($"netns add {_nsA}");
        Must($"netns add {_nsB}");
        Must($"link add hcva netns {_nsA} type veth peer name hcvb netns {_nsB}");
        Must($"-n {_nsA} addr add 10.77.200.1/30 dev hcva");
        Must($"-n {_nsB} addr add 10.77.200.2/30 dev hcvb");
        Must($"-n {_nsA} link set hcva up");
        Must($"-n {_nsB} link set hcvb up");
        Must($"-n {_nsA} link set lo up");
        Must($"-n {_nsB} link set lo up");
    }

    [TearDown]
    public void TearDown()
    {
        foreach (var service in _services)
        {
            service.StopAsync(CancellationToken.None).Wait(TimeSpan.FromSeconds(10));
            service.Dispose();
        }

        // Deleting a namespace removes the veth pair with it.
        Run("ip", $"netns del {_nsA}");
        Run("ip", $"netns del {_nsB}");
    }

    [Test]
    public async Task Capture_PingAcrossVeth_RequestsAndRepliesWithKernelDirectionAndNanoseconds()
    {
        var queueA = StartCaptureIn(_nsA, "hcva");
        var queueB = StartCaptureIn(_nsB, "hcvb");

        // libpcap filters the first ring frame after pcap_setfilter in user space, where
        // inbound/outbound cannot be evaluated (see LiveCaptureHandle.Open): one warm-up echo with
        // another id absorbs that, and only id 4242 is checked.
        var warmUp = await Task.Run(() => Run("ip", $"netns exec {_nsA} ping -c 1 -W 2 -e 4241 -n 10.77.200.2")).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(warmUp.ExitCode, Is.Zero, warmUp.Output);
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

    private static void Must(string ipArgs) => NetnsCapture.Ip(ipArgs);

    private static (int ExitCode, string Output) Run(string file, string args) => NetnsCapture.Run(file, args);
}
