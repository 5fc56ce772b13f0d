using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Agent;

/// <summary>
/// Overlay echo captured live on the underlay: two namespaces this test creates, joined by a
/// veth, with VXLAN devices on 4789 (IANA) and 8472 (the kernel's old default, flannel's) on top.
/// The agent's capture service runs on the underlay veth only; the observations must carry the
/// inner addresses, id and sequence. (Geneve devices cannot be created here: EchoFilterTunnelTests.)
/// </summary>
[NonParallelizable]
public class TunnelCaptureTests
{
    private readonly string _nsA = $"hct-ta-{Environment.ProcessId}";
    private readonly string _nsB = $"hct-tb-{Environment.ProcessId}";
    private readonly List<CaptureService> _services = [];

    [SetUp]
    public void SetUp()
    {
        NetnsCapture.CreateVethPair(_nsA, "hcua", "10.77.210.1", _nsB, "hcub", "10.77.210.2");
        foreach (var (ns, dev, local, remote, side) in new[] { (_nsA, "hcua", "10.77.210.1", "10.77.210.2", 1), (_nsB, "hcub", "10.77.210.2", "10.77.210.1", 2) })
        {
            Must($"-n {ns} link add vx42 type vxlan id 42 dstport 4789 local {local} remote {remote} dev {dev}");
            Must($"-n {ns} link add vx43 type vxlan id 43 dstport 8472 local {local} remote {remote} dev {dev}");
            Must($"-n {ns} addr add 10.77.211.{side}/24 dev vx42");
            Must($"-n {ns} addr add 10.77.212.{side}/24 dev vx43");
            Must($"-n {ns} link set vx42 up");
            Must($"-n {ns} link set vx43 up");
        }
    }

    [TearDown]
    public void TearDown() => NetnsCapture.TearDown(_services, _nsA, _nsB);

    [TestCase(4789, "10.77.211", (ushort)4342)]
    [TestCase(8472, "10.77.212", (ushort)4343)]
    public async Task Capture_PingAcrossVxlan_UnderlaySeesInnerEcho(int port, string overlay, ushort id)
    {
        var queue = StartCaptureIn(_nsA, "hcua", tunnels: true);

        // The first frame after pcap_setfilter is judged in user space without inbound/outbound
        // (LiveCaptureHandle.Open): a warm-up echo with another id absorbs it (and resolves ARP).
        var warmUp = await Task.Run(() => Run("ip", $"netns exec {_nsA} ping -c 2 -i 0.2 -W 2 -e {id + 100} -n {overlay}.2")).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(warmUp.ExitCode, Is.Zero, warmUp.Output);
        var ping = await Task.Run(() => Run("ip", $"netns exec {_nsA} ping -c 4 -i 0.2 -W 2 -e {id} -n {overlay}.2")).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(ping.ExitCode, Is.Zero, ping.Output);

        var seen = await DrainAsync(queue, id, 8);

        var inner = (IpAddress128.FromIPv4(Ip(overlay, 1)), IpAddress128.FromIPv4(Ip(overlay, 2)));
        Assert.Multiple(() =>
        {
            Assert.That(seen.Where(o => o.Type == EchoType.Request).Select(o => (o.Src, o.Dst, o.Direction)), Has.All.EqualTo((inner.Item1, inner.Item2, PacketDirection.Out)));
            Assert.That(seen.Where(o => o.Type == EchoType.Reply).Select(o => (o.Src, o.Dst, o.Direction)), Has.All.EqualTo((inner.Item2, inner.Item1, PacketDirection.In)));
            Assert.That(seen.Where(o => o.Type == EchoType.Request).Select(o => (int)o.IcmpSeq).Order(), Is.EqualTo(Enumerable.Range(1, 4)));
            Assert.That(seen.Where(o => o.Type == EchoType.Reply).Select(o => (int)o.IcmpSeq).Order(), Is.EqualTo(Enumerable.Range(1, 4)));
        });
    }

    [Test]
    public async Task Capture_TunnelsOff_UnderlayIgnoresVxlan()
    {
        var queue = StartCaptureIn(_nsA, "hcua", tunnels: false);

        var ping = await Task.Run(() => Run("ip", $"netns exec {_nsA} ping -c 3 -i 0.2 -W 2 -e 4344 -n 10.77.211.2")).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(ping.ExitCode, Is.Zero, ping.Output);
        // A plain echo on the underlay afterwards proves the capture was running.
        var plain = await Task.Run(() => Run("ip", $"netns exec {_nsA} ping -c 3 -i 0.2 -W 2 -e 4345 -n 10.77.210.2")).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(plain.ExitCode, Is.Zero, plain.Output);

        var seen = await DrainAsync(queue, 4345, 4);
        var all = new List<Observation>(seen);
        while (queue.Reader.TryRead(out var more))
        {
            all.Add(more.Observation);
        }

        Assert.That(all.Where(o => o.IcmpId == 4344), Is.Empty);
    }

    private static uint Ip(string prefix, int last)
    {
        var parts = $"{prefix}.{last}".Split('.').Select(p => byte.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return (uint)(parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]);
    }

    private ObservationQueue StartCaptureIn(string netns, string iface, bool tunnels)
    {
        var options = new AgentOptions { Node = netns, Tunnels = tunnels, Interfaces = [new InterfaceOptions { Name = iface, Role = "nic" }] };
        var queue = new ObservationQueue(1024);
        _services.Add(NetnsCapture.StartIn(netns, options, queue));
        return queue;
    }

    private static Task<List<Observation>> DrainAsync(ObservationQueue queue, ushort id, int expected) => NetnsCapture.DrainAsync(queue, id, expected);

    private static void Must(string ipArgs) => NetnsCapture.Ip(ipArgs);

    private static (int ExitCode, string Output) Run(string file, string args) => NetnsCapture.Run(file, args);
}
