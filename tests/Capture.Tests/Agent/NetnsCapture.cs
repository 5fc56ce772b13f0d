using System.Diagnostics;
using System.Runtime.InteropServices;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Agent;

/// <summary>
/// Running `ip` and the agent's capture service inside network namespaces a test creates. The
/// capture handles are opened from a thread moved into the namespace (setns), because an
/// AF_PACKET socket belongs to the namespace it was created in.
/// </summary>
internal static class NetnsCapture
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>
    /// Two namespaces joined by a veth, each end addressed (a /30) and up, loopback up; ignores
    /// the test where that needs root or `ip netns` does not work.
    /// </summary>
    public static void CreateVethPair(string nsA, string devA, string addressA, string nsB, string devB, string addressB)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("live capture needs root");
        }

        if (Run("ip", "netns list").ExitCode != 0)
        {
            Assert.Ignore("ip netns does not work here");
        }

        Ip($"netns add {nsA}");
        Ip($"netns add {nsB}");
        Ip($"link add {devA} netns {nsA} type veth peer name {devB} netns {nsB}");
        foreach (var (ns, dev, address) in new[] { (nsA, devA, addressA), (nsB, devB, addressB) })
        {
            Ip($"-n {ns} addr add {address}/30 dev {dev}");
            Ip($"-n {ns} link set {dev} up");
            Ip($"-n {ns} link set lo up");
        }
    }

    /// <summary>Stops and disposes the test's capture services, then deletes its namespaces (and every device in them).</summary>
    public static void TearDown(List<CaptureService> services, params string[] namespaces)
    {
        try
        {
            foreach (var service in services)
            {
                service.StopAsync(CancellationToken.None).Wait(TimeSpan.FromSeconds(10));
                service.Dispose();
            }
        }
        finally
        {
            // One fixture instance runs every test case: start the next one empty.
            services.Clear();
            foreach (var ns in namespaces)
            {
                Run("ip", $"netns del {ns}");
            }
        }
    }

    /// <summary>Starts a capture service on <paramref name="iface"/> inside <paramref name="netns"/>; the caller stops and disposes it.</summary>
    public static CaptureService StartIn(string netns, AgentOptions options, ObservationQueue queue)
    {
        var service = new CaptureService(Options.Create(options), new AgentInterfaces(options.Interfaces), queue, NullLogger<CaptureService>.Instance);
        InNamespace(netns, () => service.StartAsync(CancellationToken.None).GetAwaiter().GetResult());
        return service;
    }

    /// <summary>
    /// A temp directory with <paramref name="netns"/>'s sysfs mounted at <c>sys</c> (sysfs shows the
    /// devices of the network namespace that mounts it): a root for the host evidence readers.
    /// </summary>
    public static string MountSysfs(string netns)
    {
        var root = Directory.CreateTempSubdirectory(netns + "-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "sys"));
        var mount = Run("nsenter", $"--net=/run/netns/{netns} mount -t sysfs sysfs {Path.Combine(root, "sys")}");
        Assert.That(mount.ExitCode, Is.Zero, mount.Output);
        return root;
    }

    /// <summary>Undoes <see cref="MountSysfs"/>.</summary>
    public static void UnmountSysfs(string root)
    {
        Run("umount", Path.Combine(root, "sys"));
        Directory.Delete(root, recursive: true);
    }

    /// <summary>Runs <paramref name="action"/> on a thread moved into <paramref name="netns"/>: sockets it opens belong to that namespace.</summary>
    public static void InNamespace(string netns, Action action)
    {
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

                action();
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
        Assert.That(thread.Join(TimeSpan.FromSeconds(10)), Is.True, $"work in namespace {netns} timed out");
        Assert.That(failure, Is.Null, failure?.ToString());
    }

    /// <summary>Reads observations of echo id <paramref name="id"/> until <paramref name="expected"/> arrived; fails after 10 s.</summary>
    public static async Task<List<Observation>> DrainAsync(ObservationQueue queue, ushort id, int expected)
    {
        var observations = new List<Observation>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (observations.Count < expected)
        {
            try
            {
                var observation = (await queue.Reader.ReadAsync(timeout.Token)).Observation;
                if (observation.IcmpId == id)
                {
                    observations.Add(observation);
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"only {observations.Count} of {expected} observations of id {id} captured: "
                    + string.Join(", ", observations.Select(o => $"{o.Type} {o.IcmpSeq} {o.Direction}")));
            }
        }

        return observations;
    }

    public static void Ip(string args)
    {
        var result = Run("ip", args);
        Assert.That(result.ExitCode, Is.Zero, $"ip {args}: {result.Output}");
    }

    public static (int ExitCode, string Output) Run(string file, string args)
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
