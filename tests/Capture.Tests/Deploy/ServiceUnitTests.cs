using System.Globalization;
using System.Text.RegularExpressions;

namespace HopCapture.Tests.Deploy;

/// <summary>
/// The units' hardening, as systemd scores it (systemd-analyze security --offline, which reads
/// the file and needs no running systemd): no worse than the figures README states.
/// </summary>
public partial class ServiceUnitTests
{
    [TestCase("hopcapture-agent.service", 2.3)]
    [TestCase("hopcapture-correlator.service", 1.5)]
    public async Task SecurityOffline_Unit_ExposureAtMostTheReadmeFigure(string unit, double readme)
    {
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync(
                "systemd-analyze", ["security", "--offline=true", "--no-pager", unit], TimeSpan.FromSeconds(60), CancellationToken.None,
                Path.Combine(RepoPaths.Root, "deploy")).WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Ignore("systemd-analyze is not installed (build/deps.sh installs systemd)");
            return;
        }

        var match = Exposure().Match(result.StdOut + result.StdErr);
        Assert.That(match.Success, Is.True, result.ToString());
        Assert.That(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), Is.LessThanOrEqualTo(readme), result.ToString());
    }

    [GeneratedRegex(@"Overall exposure level for \S+: ([0-9]+\.[0-9])")]
    private static partial Regex Exposure();
}
