using System.Diagnostics;
using System.Globalization;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;

namespace HopCapture.Tests.Deploy;

/// <summary>
/// The agent unit's privilege set is enough to capture: the agent runs as the unit's User= with
/// exactly its AmbientCapabilities=/CapabilityBoundingSet= (via setpriv, since systemd is not
/// PID 1 here), captures a real ping between two namespaces this test creates on the root
/// namespace's end of one of their veths, and its observations reach a real correlator on
/// loopback. Read from deploy/hopcapture-agent.service, so changing the unit incompatibly fails here.
/// </summary>
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class UnprivilegedCaptureTests
{
    private static readonly string Prefix = "hcu" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    private readonly string _nsA = Prefix + "-a";
    private readonly string _nsB = Prefix + "-b";
    private readonly string _bridge = Prefix + "br";
    private readonly string _vethA = Prefix + "a";
    private readonly string _vethB = Prefix + "b";
    private string? _createdUser;
    private string? _directory;
    private Process? _agent;

    [SetUp]
    public void SetUp()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("needs root: creates network namespaces and switches to the unit's user");
        }

        if (Run("ip", "netns list").ExitCode != 0)
        {
            Assert.Ignore("ip netns does not work here");
        }

        if (Run("setpriv", "--version").ExitCode != 0)
        {
            Assert.Ignore("setpriv (util-linux) is not installed");
        }

        // Two "VMs" on a bridge in the root namespace; the agent captures vm A's root-side veth
        // end like a vif, and reaches the correlator on the root namespace's loopback.
        Must($"netns add {_nsA}");
        Must($"netns add {_nsB}");
        Must($"link add {_bridge} type bridge");
        Must($"link set {_bridge} up");
        foreach (var (ns, veth, address) in new[] { (_nsA, _vethA, "10.93.41.1/24"), (_nsB, _vethB, "10.93.41.2/24") })
        {
            Must($"link add {veth} type veth peer name eth0 netns {ns}");
            Must($"link set {veth} master {_bridge} up");
            Must($"-n {ns} addr add {address} dev eth0");
            Must($"-n {ns} link set eth0 up");
            Must($"-n {ns} link set lo up");
        }
    }

    [TearDown]
    public void TearDown()
    {
        if (_agent is { HasExited: false })
        {
            _agent.Kill(entireProcessTree: true);
            _agent.WaitForExit(10_000);
        }

        _agent?.Dispose();
        Run("ip", $"netns del {_nsA}");
        Run("ip", $"netns del {_nsB}");
        Run("ip", $"link del {_vethA}");
        Run("ip", $"link del {_vethB}");
        Run("ip", $"link del {_bridge}");
        if (_createdUser is not null)
        {
            Run("userdel", _createdUser);
        }

        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task AgentUnit_UserAndCapabilitiesOnly_CapturesPingAndUploads()
    {
        var unit = UnitFile.FromRepository("hopcapture-agent.service");
        var user = unit.Single("User");
        var ambient = unit.Words("AmbientCapabilities");
        var bounding = unit.Words("CapabilityBoundingSet");
        Assert.That(ambient, Is.Not.Empty, "the agent unit grants no capability: it could not capture");
        Assert.That(bounding, Is.SupersetOf(ambient), "ambient capabilities outside the bounding set are dropped");
        var execStart = unit.Single("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var configAt = Array.IndexOf(execStart, "--config");
        Assert.That(configAt, Is.GreaterThan(0), "ExecStart has no --config FILE");

        EnsureUser(user);
        _directory = Path.Combine(Path.GetTempPath(), "hopcapture-unpriv-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        File.SetUnixFileMode(_directory, (UnixFileMode)0b111_101_101);
        await using var correlator = await TestCorrelator.StartAsync();
        var config = Path.Combine(_directory, "agent.json");
        // The unit's StateDirectory= would hand the service user its own directory; here the test does.
        var state = Path.Combine(_directory, "state");
        Directory.CreateDirectory(state);
        Assert.That(Run("chown", $"{user}:{user} {state}").ExitCode, Is.Zero, "chown the state directory");
        await File.WriteAllTextAsync(config, $$"""
            { "Agent": { "Node": "unpriv", "Correlator": "{{correlator.Address}}", "StateDirectory": "{{state}}",
              "Interfaces": [ { "Name": "{{_vethA}}", "Role": "vif" } ], "BatchInterval": "00:00:00.100" } }
            """);
        File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);

        // ExecStart's arguments with this test's config, run by the built agent as the unit's
        // user with the unit's capabilities (setpriv drops root before exec; no-new-privs as in
        // the unit).
        var arguments = execStart.Skip(1).ToArray();
        arguments[configAt] = config;
        var caps = string.Join(',', ambient.Select(c => "+" + c.ToLowerInvariant().Replace("cap_", "", StringComparison.Ordinal)));
        var boundingCaps = string.Join(',', bounding.Select(c => "+" + c.ToLowerInvariant().Replace("cap_", "", StringComparison.Ordinal)));
        var info = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var argument in new[]
                 {
                     $"--reuid={user}", $"--regid={user}", "--init-groups",
                     $"--inh-caps=-all,{caps}", $"--ambient-caps=-all,{caps}", $"--bounding-set=-all,{boundingCaps}",
                     "--no-new-privs", "--", "dotnet", RepoPaths.Executable("Agent", "hopcapture-agent"),
                 }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["HOME"] = _directory;
        info.Environment["DOTNET_CLI_HOME"] = _directory;
        var log = new System.Text.StringBuilder();
        _agent = new Process { StartInfo = info };
        _agent.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        _agent.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        _agent.Start();
        _agent.BeginOutputReadLine();
        _agent.BeginErrorReadLine();
        string Log() { lock (log) { return log.ToString(); } }

        await TestCorrelator.EventuallyAsync(
            async ct => (await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: ct)).Agents,
            agents => agents.Any(a => a.Node == "unpriv" && a.Connected) || _agent.HasExited,
            "the unprivileged agent to connect",
            TimeSpan.FromSeconds(60));
        Assert.That(_agent.HasExited, Is.False, $"the agent exited with {(_agent.HasExited ? _agent.ExitCode : 0)}:\n{Log()}");

        var status = await File.ReadAllLinesAsync($"/proc/{_agent.Id}/status");
        Assert.Multiple(() =>
        {
            Assert.That(status.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t')[2], Is.Not.EqualTo("0"), "effective uid");
            Assert.That(ParseCaps(status, "CapEff:"), Is.EqualTo(CapabilityMask(ambient)), "effective capabilities are exactly the unit's");
        });

        // A warm-up echo absorbs libpcap's first user-space-filtered frame per handle.
        Must($"netns exec {_nsA} ping -c 1 -W 2 -n 10.93.41.2", "ip");
        var ping = Run("ip", $"netns exec {_nsA} ping -c 10 -i 0.2 -W 2 -n 10.93.41.2");
        Assert.That(ping.ExitCode, Is.Zero, ping.Output);

        var agent = await TestCorrelator.EventuallyAsync(
            async ct => (await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: ct)).Agents.SingleOrDefault(a => a.Node == "unpriv"),
            // 10 requests and 10 replies; libpcap may still filter one early frame per handle in
            // user space (see LiveCaptureHandle.Open), so allow for those two.
            a => a is { Observations: >= 18 },
            "18 of the 20 echo observations (10 requests, 10 replies) from the unprivileged agent",
            TimeSpan.FromSeconds(30));
        Assert.That(agent!.Stats.Sum(s => (long)s.KernelDropped), Is.Zero, Log());
    }

    private static ulong CapabilityMask(IEnumerable<string> names)
    {
        // linux/capability.h numbers of the capabilities an agent unit could plausibly name.
        var numbers = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
        {
            ["CAP_NET_BIND_SERVICE"] = 10, ["CAP_NET_ADMIN"] = 12, ["CAP_NET_RAW"] = 13, ["CAP_SYS_ADMIN"] = 21,
        };
        return names.Aggregate(0UL, (mask, name) => mask | (1UL << numbers[name]));
    }

    private static ulong ParseCaps(string[] status, string field) =>
        ulong.Parse(status.Single(l => l.StartsWith(field, StringComparison.Ordinal))[field.Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private void EnsureUser(string user)
    {
        if (Run("getent", $"passwd {user}").ExitCode == 0)
        {
            return;
        }

        // Not installed by the package on this machine: a system user like the one postinst makes.
        var add = Run("useradd", $"--system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin {user}");
        Assert.That(add.ExitCode, Is.Zero, add.Output);
        _createdUser = user;
    }

    private static void Must(string arguments, string command = "ip")
    {
        var result = Run(command, arguments);
        Assert.That(result.ExitCode, Is.Zero, $"{command} {arguments}: {result.Output}");
    }

    private static (int ExitCode, string Output) Run(string command, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(30_000))
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"{command} {arguments}: timed out");
            }

            return (process.ExitCode, stdout.Result + stderr);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
