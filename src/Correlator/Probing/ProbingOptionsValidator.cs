using System.Net;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Probing;

public sealed class ProbingOptionsValidator : IValidateOptions<ProbingOptions>
{
    private const string Prefix = ProbingOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, ProbingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Plans.Count; i++)
        {
            var plan = options.Plans[i];
            var key = $"{Prefix}Plans:{i}";
            if (string.IsNullOrWhiteSpace(plan.Name) || !names.Add(plan.Name))
            {
                failures.Add($"{key}:Name: needs a unique name");
            }

            if (plan.From.Length == 0)
            {
                failures.Add($"{key}:From: lists no probing nodes (names, globs or @groups)");
            }

            if (plan.To.Length == 0)
            {
                failures.Add($"{key}:To: lists no targets (names, globs, @groups or IP addresses)");
            }

            foreach (var selector in plan.From)
            {
                if (IPAddress.TryParse(selector, out _))
                {
                    failures.Add($"{key}:From: '{selector}' is an address; From names nodes whose agents send the probes");
                }
            }

            foreach (var selector in plan.From.Concat(plan.To))
            {
                if (selector.StartsWith('@') && !options.Groups.ContainsKey(selector[1..]))
                {
                    failures.Add($"{key}: group '{selector[1..]}' is not defined in {Prefix}Groups");
                }
            }

            if (plan.Interval < TimeSpan.FromMilliseconds(10))
            {
                failures.Add($"{key}:Interval: must be at least 00:00:00.010 (got {plan.Interval})");
            }

            if (plan.Size is < 16 or > 1400)
            {
                failures.Add($"{key}:Size: must be 16-1400 payload bytes (got {plan.Size})");
            }
        }

        foreach (var entry in options.TraceAllow)
        {
            if (!TraceGuard.IsEntry(entry))
            {
                failures.Add($"{Prefix}TraceAllow: '{entry}' is neither an IP address nor a network (CIDR, e.g. 10.77.0.0/16)");
            }
        }

        if (options.TraceMaxConcurrent < 1 || options.TraceMaxRate < 1)
        {
            failures.Add($"{Prefix}TraceMaxConcurrent: TraceMaxConcurrent and TraceMaxRate must be at least 1");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
