using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using HopCapture.Agent.Evidence;
using HopCapture.Protos;
using Microsoft.Extensions.Logging.Abstractions;

namespace HopCapture.Tests.Agent.Evidence;

/// <summary>
/// The SIOCETHTOOL reader against a real veth in a namespace of the test's own (hcu-eth-PID):
/// veth has driver statistics (peer_ifindex, per-queue XDP counters) and offloads, and no
/// interrupt coalescing, so it shows both the read and the silent skip.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class EthtoolReaderTests
{
    private const long S = 1_000_000_000;
    private const uint SetGro = 0x2c;
    private readonly string _ns = "hcu-eth-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    private string _root = "";
    private EthtoolReader? _ethtool;

    [SetUp]
    public void CreateNamespace()
    {
        NetnsCapture.CreateVethPair(_ns, "v0", "10.97.0.1", _ns + "b", "v1", "10.97.0.2");
        _root = NetnsCapture.MountSysfs(_ns);
        NetnsCapture.InNamespace(_ns, () => _ethtool = EthtoolReader.TryOpen(TimeSpan.FromSeconds(30), NullLogger.Instance, out _));
    }

    [TearDown]
    public void RemoveNamespace()
    {
        _ethtool?.Dispose();
        NetnsCapture.UnmountSysfs(_root);
        NetnsCapture.TearDown([], _ns, _ns + "b");
    }

    [Test]
    public void Read_Veth_DriverLossCountersOffloadsAndNoCoalescing()
    {
        var all = _ethtool!.AllStats("v0");
        var readings = new List<Reading>();

        _ethtool.Read("v0", DeviceReadings.IfIndex(_root, "v0"), 1 * S, readings);

        Assert.Multiple(() =>
        {
            Assert.That(all, Does.ContainKey("peer_ifindex").And.ContainKey("rx_queue_0_xdp_drops"), "ethtool -S of a veth");
            Assert.That(all!["peer_ifindex"], Is.GreaterThan(0));
            var counters = readings.Where(r => r.IsCounter).Select(r => r.Name).ToList();
            Assert.That(counters, Does.Contain("driver:rx_queue_0_xdp_drops").And.Not.Contain("driver:peer_ifindex")
                .And.Not.Contain("driver:rx_queue_0_xdp_packets"), "only drop/error-like counters are kept");
            Assert.That(readings.Where(r => r.IsCounter), Is.All.Matches<Reading>(r => r.Kind == "counter" && EthtoolReader.IsLoss(r.Name)));
            Assert.That(readings.Single(r => r.Kind == "offload").Value, Does.Match("^tso (on|off), gso (on|off), gro (on|off), sg (on|off), rx-csum (on|off), tx-csum (on|off)$"));
            Assert.That(readings.Where(r => r.Kind == "coalesce"), Is.Empty, "veth has no coalescing (EOPNOTSUPP): left out, no error");
        });
    }

    [Test]
    public void Sample_GroFlippedWithEthtoolK_ReportedOnceAtTheNextSettingsRead()
    {
        var sampler = new EvidenceSampler(_root, qdisc: null, kernel: null, _ethtool);
        List<WatchedInterface> watched = [new("v0", "v0")];
        var baseline = Find(sampler.Sample(watched, 1 * S), "offload");
        var gro = baseline.Value.Contains("gro on", StringComparison.Ordinal);

        NetnsCapture.InNamespace(_ns, () => SetOffload("v0", SetGro, !gro));
        var cached = sampler.Sample(watched, 2 * S);
        var changed = sampler.Sample(watched, 32 * S);
        var after = sampler.Sample(watched, 63 * S);

        var expected = gro ? baseline.Value.Replace("gro on", "gro off", StringComparison.Ordinal) : baseline.Value.Replace("gro off", "gro on", StringComparison.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(baseline.Previous, Is.Empty, "the first sample is the baseline");
            Assert.That(cached.Where(e => e.Kind == "offload"), Is.Empty, "settings are read every SettingsEvery (30 s), not every sample");
            Assert.That((Find(changed, "offload").Previous, Find(changed, "offload").Value), Is.EqualTo((baseline.Value, expected)));
            Assert.That(Find(changed, "offload").Points, Is.EqualTo(new[] { "v0" }));
            Assert.That(after.Where(e => e.Kind is "offload" or "coalesce"), Is.Empty, "reported once");
        });
    }

    private static HostEvidence Find(List<HostEvidence> evidence, string kind) =>
        evidence.SingleOrDefault(e => e.Device == "v0" && e.Kind == kind)
        ?? throw new AssertionException($"no {kind} of v0 in: {string.Join("\n", evidence)}");

    /// <summary><c>ethtool -K DEV gro on|off</c>: the legacy one-value set (struct ethtool_value) over SIOCETHTOOL.</summary>
    private static void SetOffload(string device, uint command, bool on)
    {
        var fd = Socket(2, 2, 0);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0), $"socket: errno {Marshal.GetLastPInvokeError()}");
        var value = Marshal.AllocHGlobal(8);
        var ifreq = Marshal.AllocHGlobal(40);
        try
        {
            var name = new byte[40];
            Encoding.ASCII.GetBytes(device, name);
            BinaryPrimitives.WriteInt64LittleEndian(name.AsSpan(16), value);
            Marshal.Copy(name, 0, ifreq, name.Length);
            Marshal.WriteInt32(value, (int)command);
            Marshal.WriteInt32(value, 4, on ? 1 : 0);
            Assert.That(Ioctl(fd, 0x8946, ifreq), Is.Zero, $"SIOCETHTOOL set: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Marshal.FreeHGlobal(ifreq);
            Marshal.FreeHGlobal(value);
            _ = Close(fd);
        }
    }

    // DllImport, not LibraryImport: the shared test project does not allow unsafe code.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, nint request, nint data);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
#pragma warning restore SYSLIB1054
}
