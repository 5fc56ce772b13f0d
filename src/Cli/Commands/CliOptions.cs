using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Parsing;
using HopCapture.Engine.Model;

namespace HopCapture.Cli.Commands;

/// <summary>
/// Option factories shared by the commands. Every parser reports errors as one line that names
/// the flag, instead of System.CommandLine's type-conversion messages.
/// </summary>
internal static class CliOptions
{
    public static Option<string> Correlator(CliContext context) => new("--correlator")
    {
        Description = $"Correlator query API URL (env {CorrelatorAddress.EnvironmentVariable})",
        HelpName = "URL",
        Recursive = true,
        DefaultValueFactory = _ => context.Environment(CorrelatorAddress.EnvironmentVariable) is { Length: > 0 } fromEnv
            ? fromEnv
            : CorrelatorAddress.Default,
    };

    /// <summary>--timeout DURATION: how long each call to the correlator may take (a week-long window can take a while).</summary>
    public static Option<long?> Timeout(CliContext context) => new("--timeout")
    {
        Description = $"How long to wait for each answer from the correlator (default {context.CallTimeout.TotalSeconds:0} s), e.g. 60s; past it: exit 6",
        HelpName = "DURATION",
        Recursive = true,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (TimeArguments.TryParseDuration("--timeout", text, out var ns, out var error) && ns > 0)
            {
                return ns;
            }

            result.AddError(ns <= 0 && error.Length == 0 ? "--timeout must be longer than 0" : error);
            return null;
        },
    };

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print the response as proto3 JSON instead of tables",
        Recursive = true,
    };

    public static Option<string?> Address(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "IP",
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (IpAddress128.TryParse(text, out var address))
            {
                return IpAddress128.Format(address);
            }

            result.AddError($"{name}: '{text}' is not an IP address");
            return null;
        },
    };

    /// <summary>A time bound as unix ns: an age like 10m or an RFC 3339 time.</summary>
    public static Option<long?> TimeBound(string name, string description, CliContext context) => new(name)
    {
        Description = description,
        HelpName = "AGE|TIME",
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (TimeArguments.TryParseTimeBound(name, text, context.Time.GetUtcNow(), out var unixNs, out var error))
            {
                return unixNs;
            }

            result.AddError(error);
            return null;
        },
    };

    public static Option<long?> Duration(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (TimeArguments.TryParseDuration(name, text, out var ns, out var error))
            {
                return ns;
            }

            result.AddError(error);
            return null;
        },
    };

    public static Option<long?> Number(string name, string description, long min, long max) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = result => ParseNumber(result, name, min, max),
    };

    public static long? ParseNumber(ArgumentResult result, string name, long min, long max)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = result.Tokens[0].Value;
        if (long.TryParse(text.TrimStart('#'), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && value >= min && value <= max)
        {
            return value;
        }

        result.AddError($"{name}: '{text}' is not a whole number from {min} to {max}");
        return null;
    }

    public static Option<string> OneOf(string name, string description, params string[] allowed) => new(name)
    {
        Description = description,
        HelpName = string.Join('|', allowed),
        DefaultValueFactory = _ => allowed[0],
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            var match = allowed.FirstOrDefault(a => a.Equals(text, StringComparison.OrdinalIgnoreCase));
            if (match is not null)
            {
                return match;
            }

            result.AddError($"{name}: '{text}' is not one of {string.Join(", ", allowed)}");
            return allowed[0];
        },
    };
}
