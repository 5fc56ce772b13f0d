using System.Diagnostics;
using System.Runtime.InteropServices;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Agent;

/// <summary>
/// Real libpcap capture on both ends of a veth between two namespaces this test creates. The
/// capture handles are opened from a thread moved into each namespace (setns), because an
/// AF_PACKET socket belongs to the namespace it was created in.
/// </summary>
[NonParallelizable]
public class LiveCaptureTests
{
    private const int CloneNewNet = 0x40000000;
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
        var (queueA, _) = StartCaptureIn(_nsA, "hcva");
        var (queueB, _) = StartCaptureIn(_nsB, "hcvb");

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

    private (ObservationQueue Queue, AgentInterfaces Interfaces) StartCaptureIn(string netns, string iface)
    {
        var options = new AgentOptions { Node = netns, Interfaces = [new InterfaceOptions { Name = iface, Role = "nic" }] };
        var queue = new ObservationQueue(1024);
        var interfaces = new AgentInterfaces(options.Interfaces);
        var service = new CaptureService(Options.Create(options), interfaces, queue, NullLogger<CaptureService>.Instance);
        _services.Add(service);
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            var home = File.OpenHandle("/proc/thread-self/ns/net");
            using var target = File.OpenHandle($"/var/run/netns/{netns}");
            try
            {
                if (SetNs(target.DangerousGetHandle().ToInt32(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns {netns} failed: errno {Marshal.GetLastPInvokeError()}");
                }

                service.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            finally
            {
                _ = SetNs(home.DangerousGetHandle().ToInt32(), CloneNewNet);
                home.Dispose();
            }
        });
        thread.Start();
        Assert.That(thread.Join(TimeSpan.FromSeconds(10)), Is.True, "capture start timed out");
        Assert.That(failure, Is.Null, failure?.ToString());
        return (queue, interfaces);
    }

    private static async Task<List<Observation>> DrainAsync(ObservationQueue queue, int expected)
    {
        var observations = new List<Observation>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (observations.Count < expected)
        {
            try
            {
                var observation = (await queue.Reader.ReadAsync(timeout.Token)).Observation;
                if (observation.IcmpId == 4242)
                {
                    observations.Add(observation);
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"only {observations.Count} of {expected} observations captured: "
                    + string.Join(", ", observations.Select(o => $"{o.Type} {o.IcmpSeq} {o.Direction}")));
            }
        }

        return observations;
    }

    private static void Must(string ipArgs)
    {
        var result = Run("ip", ipArgs);
        Assert.That(result.ExitCode, Is.Zero, $"ip {ipArgs}: {result.Output}");
    }

    private static (int ExitCode, string Output) Run(string file, string args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            return (-1, "timed out");
        }

        return (process.ExitCode, output.Result + error.Result);
    }

    // DllImport, not LibraryImport: the shared test project does not allow unsafe code.
    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
#pragma warning disable SYSLIB1054
    private static extern int SetNs(int fd, int nstype);
#pragma warning restore SYSLIB1054
}
