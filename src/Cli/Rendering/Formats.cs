using System.Globalization;
using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Cli.Rendering;

/// <summary>Shared text forms for times, durations and probe identity in every view.</summary>
public static class Formats
{
    public const string Missing = "—";
    public const string Arrow = "→";

    /// <summary>Clock time with µs; the date is added when it is not <paramref name="today"/> (UTC).</summary>
    public static string Time(long unixNs, DateOnly today)
    {
        var (utc, micros) = Split(unixNs);
        var clock = utc.ToString("HH:mm:ss", CultureInfo.InvariantCulture) + "." + micros.ToString("D6", CultureInfo.InvariantCulture);
        var date = DateOnly.FromDateTime(utc);
        return date == today ? clock : date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + " " + clock;
    }

    /// <summary>Clock time with µs, never a date: explain and watch lines stay narrow.</summary>
    public static string ClockTime(long unixNs)
    {
        var (utc, micros) = Split(unixNs);
        return utc.ToString("HH:mm:ss", CultureInfo.InvariantCulture) + "." + micros.ToString("D6", CultureInfo.InvariantCulture);
    }

    public static string DateTime(long unixNs)
    {
        var (utc, micros) = Split(unixNs);
        return utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "." + micros.ToString("D6", CultureInfo.InvariantCulture) + " UTC";
    }

    /// <summary>A duration with µs resolution in ms, as the engineer in field report 003 wrote them.</summary>
    public static string Millis(long nanoseconds) =>
        (nanoseconds / 1e6).ToString("0.000", CultureInfo.InvariantCulture) + " ms";

    /// <summary>Compact duration for tables (the engine's own formatting).</summary>
    public static string Duration(long nanoseconds) => Durations.Format(nanoseconds);

    public static string Percent(double fraction) =>
        (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    public static string Count(ulong value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Path(string src, string dst) => $"{src} {Arrow} {dst}";

    /// <summary>"10.0.0.5 (vm 100 web01)" when the correlator knows the VM, else the address alone.</summary>
    public static string Labeled(string address, string? vm) => string.IsNullOrEmpty(vm) ? address : $"{address} ({vm})";

    public static string Role(Role role) => role switch
    {
        Protos.Role.Guest => "guest",
        Protos.Role.Vif => "vif",
        Protos.Role.Bridge => "bridge",
        Protos.Role.Nic => "nic",
        Protos.Role.App => "app",
        _ => "?",
    };

    /// <summary>How long ago, coarse: "4s ago", "3m ago", "2h ago", "5d ago".</summary>
    public static string Ago(long unixNs, DateTimeOffset now)
    {
        if (unixNs == 0)
        {
            return "never";
        }

        var ageNs = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100 - unixNs;
        var age = TimeSpan.FromTicks(Math.Max(0, ageNs / 100));
        return age.TotalSeconds switch
        {
            < 1 => "just now",
            < 120 => $"{(int)age.TotalSeconds}s ago",
            < 7200 => $"{(int)age.TotalMinutes}m ago",
            < 172800 => $"{(int)age.TotalHours}h ago",
            _ => $"{(int)age.TotalDays}d ago",
        };
    }

    private static (System.DateTime Utc, long Micros) Split(long unixNs)
    {
        var seconds = Math.DivRem(unixNs, 1_000_000_000L, out var remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += 1_000_000_000L;
        }

        return (System.DateTime.UnixEpoch.AddSeconds(seconds), remainder / 1000);
    }
}
