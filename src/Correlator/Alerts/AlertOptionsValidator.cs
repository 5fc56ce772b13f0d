using HopCapture.Analysis.Legs;
using HopCapture.Analysis.Segments;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Alerts;

/// <summary>Every message starts with the full configuration key, as the correlator's own validator does.</summary>
public sealed class AlertOptionsValidator : IValidateOptions<AlertOptions>
{
    private const string Prefix = AlertOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, AlertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.EvaluationInterval <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}EvaluationInterval: must be positive (got {options.EvaluationInterval})");
        }

        if (options.ResendInterval <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}ResendInterval: must be positive (got {options.ResendInterval}); keep it below Alertmanager's resolve_timeout");
        }

        if (options.GeneratorUrl.Length > 0 && !Uri.TryCreate(options.GeneratorUrl, UriKind.Absolute, out _))
        {
            failures.Add($"{Prefix}GeneratorUrl: '{options.GeneratorUrl}' is not an absolute URL");
        }

        if (options.AgentDown.After <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}AgentDown:After: must be positive (got {options.AgentDown.After}); set AgentDown:Enabled to false to turn the alert off");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Rules.Count; i++)
        {
            var rule = options.Rules[i];
            var key = $"{Prefix}Rules:{i}";
            if (rule.Name == AgentDownMonitor.AlertName)
            {
                failures.Add($"{key}:Name: '{rule.Name}' is the built-in agent-down alert's name (configure it under {Prefix}AgentDown)");
            }
            else if (rule.Name == StoreUnwritableMonitor.AlertName)
            {
                failures.Add($"{key}:Name: '{rule.Name}' is the built-in store-unwritable alert's name (configure it under {Prefix}StoreUnwritable)");
            }
            else if (string.IsNullOrWhiteSpace(rule.Name))
            {
                failures.Add($"{key}:Name: is empty; every rule needs a unique name (it becomes the alertname label)");
            }
            else if (!names.Add(rule.Name))
            {
                failures.Add($"{key}:Name: '{rule.Name}' is used by another rule");
            }

            if (!AlertStatistics.TryParse(rule.Statistic, out _))
            {
                failures.Add($"{key}:Statistic: '{rule.Statistic}' is not one of {AlertStatistics.Allowed}");
            }

            if (!SegmentLegs.TryParse(rule.Leg, out _))
            {
                failures.Add($"{key}:Leg: '{rule.Leg}' is not one of {SegmentLegs.Allowed}");
            }

            if (string.IsNullOrWhiteSpace(rule.Segment))
            {
                failures.Add($"{key}:Segment: is empty (fabric, nic, vif, stack, remote, or * for the whole round trip)");
            }
            else if (!SegmentSelector.TryParse(rule.Segment, SegmentMatch.Contains, out _))
            {
                failures.Add($"{key}:Segment: '{rule.Segment}' is not a segment kind (fabric, nic, vif, stack, remote, unknown, a combined kind such as nic+fabric, or *)");
            }

            if (!SegmentSelector.TryParseMatch(rule.SegmentMatch, out _))
            {
                failures.Add($"{key}:SegmentMatch: '{rule.SegmentMatch}' is not one of contains, exact");
            }

            if (double.IsNaN(rule.Threshold) || rule.Threshold < 0)
            {
                failures.Add($"{key}:Threshold: must be a number >= 0 (ms for p50/p99/max, percent for loss, a count for freezes)");
            }

            if (rule.Window <= TimeSpan.Zero)
            {
                failures.Add($"{key}:Window: must be positive (got {rule.Window})");
            }

            if (rule.For < TimeSpan.Zero || rule.KeepFiringFor < TimeSpan.Zero)
            {
                failures.Add($"{key}:For: For and KeepFiringFor must not be negative");
            }

            if (rule.MinSamples < 1 || rule.MinBreaching < 1 || rule.FreezeMinLost < 1)
            {
                failures.Add($"{key}:MinSamples: MinSamples, MinBreaching and FreezeMinLost must be at least 1");
            }
        }

        var hooks = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            var hook = options.Webhooks[i];
            var key = $"{Prefix}Webhooks:{i}";
            if (string.IsNullOrWhiteSpace(hook.Name) || !hooks.Add(hook.Name))
            {
                failures.Add($"{key}:Name: needs a unique name (the outbox keys deliveries by it)");
            }

            if (!Uri.TryCreate(hook.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                failures.Add($"{key}:Url: '{hook.Url}' is not an http(s) URL");
            }

            if (hook.Timeout <= TimeSpan.Zero || hook.RetryDelay <= TimeSpan.Zero || hook.MaxBackoff <= TimeSpan.Zero)
            {
                failures.Add($"{key}:Timeout: Timeout, RetryDelay and MaxBackoff must be positive");
            }

            if (hook.MaxRejections is < 1 or > 100)
            {
                failures.Add($"{key}:MaxRejections: must be 1-100 (got {hook.MaxRejections})");
            }

            if (hook.Retries is < 0 or > 20)
            {
                failures.Add($"{key}:Retries: must be 0-20 (got {hook.Retries})");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
