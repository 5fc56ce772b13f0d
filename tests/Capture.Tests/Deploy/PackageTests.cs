using System.Diagnostics;
using System.Text.RegularExpressions;

namespace HopCapture.Tests.Deploy;

/// <summary>
/// The Debian packages build/package.sh made (artifacts/packages, or HC_PACKAGES): their control
/// data, files and maintainer scripts, and — as root — a real install on this machine with
/// dpkg -i, the installed binaries and units, an upgrade in place that keeps an edited conffile,
/// and a purge that leaves nothing behind. Publishing three self-contained binaries takes
/// minutes, so build/test.sh builds the packages before the test run; these tests only read them.
/// </summary>
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public partial class PackageTests
{
    private static readonly string[] Packages = ["hopcapture-agent", "hopcapture-correlator", "hopcapture-cli"];
    private readonly Dictionary<string, string> _debs = [];
    private string _version = "";

    [OneTimeSetUp]
    public void FindPackages()
    {
        var directory = Environment.GetEnvironmentVariable("HC_PACKAGES") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : Path.Combine(RepoPaths.Root, "artifacts", "packages");
        foreach (var package in Packages)
        {
            var found = Directory.Exists(directory) ? Directory.GetFiles(directory, $"{package}_*_amd64.deb") : [];
            if (found.Length != 1)
            {
                Assert.Fail($"expected one {package}_*_amd64.deb in {directory}, found {found.Length}: run 'bash build/package.sh' first (build/test.sh does)");
            }

            _debs[package] = found[0];
        }

        _version = Field("hopcapture-agent", "Version");
        Assert.That(Packages.Select(p => Field(p, "Version")), Is.All.EqualTo(_version), "all three packages carry one version");
    }

    [Test]
    public void Control_EachPackage_VersionFromGitAndDependencies()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_version, Does.Match(@"^[0-9]+\.[0-9]+\.[0-9]+(\+git\.[0-9]+\.[0-9a-f]{7,}(\.dirty)?)?$"));
            foreach (var package in Packages)
            {
                Assert.That(Field(package, "Package"), Is.EqualTo(package));
                Assert.That(Field(package, "Architecture"), Is.EqualTo("amd64"));
                Assert.That(Path.GetFileName(_debs[package]), Is.EqualTo($"{package}_{_version}_amd64.deb"));
            }

            Assert.That(Depends("hopcapture-agent"), Does.Contain("libpcap0.8").And.Contain("adduser").And.Contain("init-system-helpers"));
            Assert.That(Depends("hopcapture-correlator"), Does.Contain("adduser").And.Not.Contain("libpcap0.8"));
            Assert.That(Depends("hopcapture-cli"), Does.Not.Contain("adduser"));
            Assert.That(Packages.SelectMany(Depends), Has.None.StartsWith("dotnet").And.None.StartsWith("aspnetcore"), "self-contained: no .NET runtime package");
        });
    }

    [Test]
    public void Contents_EachPackage_BinaryUnderUsrLibLinkedFromUsrBinAndItsUnitAndConfig()
    {
        var agent = Contents("hopcapture-agent");
        var correlator = Contents("hopcapture-correlator");
        var cli = Contents("hopcapture-cli");
        Assert.Multiple(() =>
        {
            Assert.That(agent, Does.Contain("./usr/lib/hopcapture/agent/hopcapture-agent"));
            Assert.That(agent, Does.Contain("./usr/bin/hopcapture-agent -> ../lib/hopcapture/agent/hopcapture-agent"));
            Assert.That(agent, Does.Contain("./lib/systemd/system/hopcapture-agent.service"));
            Assert.That(agent, Does.Contain("./etc/hopcapture/agent.json"));
            Assert.That(agent, Does.Contain("./usr/share/doc/hopcapture-agent/README.md"));
            Assert.That(correlator, Does.Contain("./usr/lib/hopcapture/correlator/hopcapture-correlator"));
            Assert.That(correlator, Does.Contain("./usr/bin/hopcapture-correlator -> ../lib/hopcapture/correlator/hopcapture-correlator"));
            Assert.That(correlator, Does.Contain("./lib/systemd/system/hopcapture-correlator.service"));
            Assert.That(correlator, Does.Contain("./etc/hopcapture/correlator.json"));
            Assert.That(correlator, Does.Contain("./usr/share/hopcapture/prometheus/hopcapture.rules.yml"));
            Assert.That(correlator, Does.Contain("./usr/share/hopcapture/prometheus/hopcapture.rules.test.yml"));
            Assert.That(correlator, Does.Contain("./usr/share/hopcapture/grafana/hopcapture.dashboard.json"));
            Assert.That(cli, Does.Contain("./usr/bin/capture -> ../lib/hopcapture/cli/capture"));
            Assert.That(cli, Does.Not.Contain("./etc/").And.Not.Contain("systemd"));
            Assert.That(agent + correlator + cli, Does.Not.Contain(".pdb"), "no debug files shipped");
            Assert.That(agent + correlator + cli, Does.Not.Contain("./var/"), "state is made by postinst/StateDirectory, not shipped");
        });
    }

    [Test]
    public void MaintainerScripts_DaemonPackages_ConffilesAndShellCleanScripts()
    {
        foreach (var (package, config) in new[] { ("hopcapture-agent", "agent.json"), ("hopcapture-correlator", "correlator.json") })
        {
            var control = Path.Combine(Path.GetTempPath(), $"hopcapture-control-{Guid.NewGuid():N}");
            try
            {
                MustRun("dpkg-deb", ["--control", _debs[package], control]);
                Assert.That(File.ReadAllText(Path.Combine(control, "conffiles")).Trim(), Is.EqualTo($"/etc/hopcapture/{config}"));
                foreach (var script in new[] { "postinst", "prerm", "postrm" })
                {
                    var path = Path.Combine(control, script);
                    Assert.That(File.Exists(path), Is.True, $"{package}: no {script}");
                    Assert.That(File.GetUnixFileMode(path) & UnixFileMode.UserExecute, Is.EqualTo(UnixFileMode.UserExecute), $"{package} {script} is not executable");
                    MustRun("sh", ["-n", path]);
                    Assert.That(File.ReadAllText(path), Does.Not.Contain("@UNIT@").And.Not.Contain("@PACKAGE@").And.Not.Contain("@CONFIG@"));
                }

                var postinst = File.ReadAllText(Path.Combine(control, "postinst"));
                Assert.That(postinst, Does.Contain("deb-systemd-helper enable").And.Contain("[ -d /run/systemd/system ]").And.Contain("adduser --system"));
            }
            finally
            {
                Directory.Delete(control, recursive: true);
            }
        }

        Assert.That(Run("dpkg-deb", ["--info", _debs["hopcapture-cli"]]).StdOut, Does.Not.Contain("postinst"), "the CLI needs no maintainer scripts");
    }

    [Test]
    public void Install_OnThisMachine_BinariesAnswerVersionUnitsVerifyConffileKeptPurgeClean()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("installing packages needs root");
        }

        var installed = Packages.Where(p => Run("dpkg-query", ["-W", "-f=${db:Status-Status}", p]).StdOut.Trim() is not ("" or "not-installed")).ToList();
        if (installed.Count > 0)
        {
            Assert.Ignore($"{string.Join(", ", installed)} already installed on this machine: not replacing or purging someone's installation");
        }

        try
        {
            MustRun("dpkg", ["-i", .. Packages.Select(p => _debs[p])]);
            Assert.Multiple(() =>
            {
                foreach (var binary in new[] { "/usr/bin/hopcapture-agent", "/usr/bin/hopcapture-correlator", "/usr/bin/capture" })
                {
                    var result = Run(binary, ["--version"]);
                    Assert.That(result.ExitCode, Is.Zero, $"{binary} --version: {result}");
                    Assert.That(result.StdOut.Trim(), Is.EqualTo(_version), $"{binary} --version");
                }

                Assert.That(Run("getent", ["passwd", "hopcapture"]).ExitCode, Is.Zero, "postinst creates the hopcapture user");
                Assert.That(Run("stat", ["-c", "%U:%G %a", "/var/lib/hopcapture"]).StdOut.Trim(), Is.EqualTo("hopcapture:hopcapture 750"));
                Assert.That(Run("stat", ["-c", "%U:%G %a", "/var/lib/hopcapture-agent"]).StdOut.Trim(), Is.EqualTo("hopcapture:hopcapture 750"), "the agent's state directory");
                Assert.That(Run("stat", ["-c", "%U:%G %a", "/etc/hopcapture/agent.json"]).StdOut.Trim(), Is.EqualTo("root:hopcapture 640"));
                foreach (var unit in new[] { "hopcapture-agent.service", "hopcapture-correlator.service" })
                {
                    Assert.That(File.Exists($"/etc/systemd/system/multi-user.target.wants/{unit}"), Is.True, $"{unit} enabled by deb-systemd-helper");
                    var verify = Run("systemd-analyze", ["verify", $"/lib/systemd/system/{unit}"]);
                    Assert.That(verify.ExitCode, Is.Zero, $"systemd-analyze verify {unit}: {verify}");
                    Assert.That(verify.StdErr, Does.Not.Contain(unit), $"systemd-analyze verify {unit} complains: {verify}");
                }
            });

            // An upgrade in place (the same package again) keeps the operator's edited conffile.
            File.AppendAllText("/etc/hopcapture/agent.json", "// edited by PackageTests\n");
            MustRun("dpkg", ["-i", "--force-confold", _debs["hopcapture-agent"]]);
            Assert.That(File.ReadAllText("/etc/hopcapture/agent.json"), Does.EndWith("// edited by PackageTests\n"));
        }
        finally
        {
            MustRun("dpkg", ["--purge", .. Packages]);
        }

        Assert.Multiple(() =>
        {
            foreach (var path in new[] { "/usr/bin/capture", "/usr/bin/hopcapture-agent", "/usr/lib/hopcapture", "/etc/hopcapture", "/var/lib/hopcapture", "/var/lib/hopcapture-agent",
                         "/etc/systemd/system/multi-user.target.wants/hopcapture-agent.service", "/lib/systemd/system/hopcapture-agent.service" })
            {
                Assert.That(File.Exists(path) || Directory.Exists(path), Is.False, $"{path} left after purge");
            }

            Assert.That(Run("getent", ["passwd", "hopcapture"]).ExitCode, Is.Not.Zero, "purge removes the hopcapture user");
            Assert.That(Run("getent", ["group", "hopcapture"]).ExitCode, Is.Not.Zero, "purge removes the hopcapture group");
        });
    }

    private string Field(string package, string field) => MustRun("dpkg-deb", ["--field", _debs[package], field]).StdOut.Trim();

    private IReadOnlyList<string> Depends(string package) =>
        Field(package, "Depends").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Split(' ')[0]).ToList();

    // "lrwxrwxrwx root/root 0 2026-11-30 20:00 ./usr/bin/capture -> ../lib/…" → "./usr/bin/capture -> ../lib/…"
    private string Contents(string package) =>
        string.Join('\n', MustRun("dpkg-deb", ["--contents", _debs[package]]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => ContentsPath().Match(line).Groups[1].Value));

    [GeneratedRegex(@"^\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+(.*)$")]
    private static partial Regex ContentsPath();

    private static ProcessResult MustRun(string command, string[] arguments)
    {
        var result = Run(command, arguments);
        Assert.That(result.ExitCode, Is.Zero, $"{command} {string.Join(' ', arguments)}: {result}");
        return result;
    }

    private static ProcessResult Run(string command, string[] arguments)
    {
        try
        {
            return ProcessRunner.RunAsync(command, arguments, TimeSpan.FromSeconds(120), CancellationToken.None)
                .WaitAsync(TimeSpan.FromSeconds(150)).GetAwaiter().GetResult();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new ProcessResult(-1, "", ex.Message);
        }
    }
}
