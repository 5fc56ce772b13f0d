using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Configuration;

/// <summary>Fails start-up with a message naming the key, e.g. "Agent:Interfaces[0]:Role: …".</summary>
internal sealed class AgentOptionsValidator : IValidateOptions<AgentOptions>
{
    /// <summary>Plaintext to loopback only; https needs this node's certificate, and its files must load.</summary>
    private static void ValidateTls(AgentOptions options, Uri url, List<string> failures)
    {
        if (HopCapture.Security.Loopback.PlaintextProblem(url) is { } plaintext)
        {
            failures.Add($"{AgentOptions.Section}:Correlator: {plaintext}");
            return;
        }

        if (url.Scheme != Uri.UriSchemeHttps)
        {
            return;
        }

        if (!options.Tls.HasCertificate)
        {
            failures.Add($"{AgentOptions.TlsNames.Certificate}: not set; an https:// correlator needs this node's certificate and key ('capture pki issue-node {options.Node}')");
            return;
        }

        try
        {
            _ = new IngestClient.ClientTls(options.Tls, AgentOptions.TlsNames);
        }
        catch (HopCapture.Security.PemFileException ex)
        {
            failures.Add(ex.Message);
        }
    }

    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        var failures = new List<string>();
        const string S = AgentOptions.Section;
        if (string.IsNullOrWhiteSpace(options.Node))
        {
            failures.Add($"{S}:Node: is empty");
        }

        if (!Uri.TryCreate(options.Correlator, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{S}:Correlator: '{options.Correlator}' is not an http:// or https:// URL");
        }
        else
        {
            ValidateTls(options, url, failures);
        }

        if (options.InterfacesValue is { } value && !string.Equals(value.Trim(), "auto", StringComparison.OrdinalIgnoreCase) && value.Trim().Length > 0)
        {
            failures.Add($"{S}:Interfaces: '{value}' is neither 'auto' nor a list of interfaces");
        }

        if (options.AutoInterfaces && string.IsNullOrWhiteSpace(options.DiscoveryRoot))
        {
            failures.Add($"{S}:DiscoveryRoot: is empty (use / for this machine)");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Interfaces.Count; i++)
        {
            var iface = options.Interfaces[i];
            var key = $"{S}:Interfaces[{i}]";
            if (string.IsNullOrWhiteSpace(iface.Name))
            {
                failures.Add($"{key}:Name: is empty");
            }
            else if (!seen.Add(iface.Name))
            {
                failures.Add($"{key}:Name: interface '{iface.Name}' is listed twice");
            }

            if (iface.ParsedRole == Engine.Model.PointRole.Unknown)
            {
                failures.Add($"{key}:Role: '{iface.Role}' is not a role ({Roles.Allowed})");
            }

            if (!string.IsNullOrEmpty(iface.Replay) && !File.Exists(iface.Replay))
            {
                failures.Add($"{key}:Replay: file '{iface.Replay}' does not exist");
            }
        }

        Range(failures, "Snaplen", options.Snaplen, 64, 65535);
        Range(failures, "BufferSizeMb", options.BufferSizeMb, 1, 4096);
        Range(failures, "QueueCapacity", options.QueueCapacity, 16, 16 * 1024 * 1024);
        Range(failures, "BatchMax", options.BatchMax, 1, 100_000);
        if (string.IsNullOrWhiteSpace(options.StateDirectory))
        {
            failures.Add($"{S}:StateDirectory: is empty (the agent keeps its identity and spool there; default {AgentOptions.DefaultStateDirectory})");
        }

        // A spool must hold a few of the largest batches (60 bytes per observation) to be a spool at all.
        var minimum = Math.Max(1L << 20, 4L * Spool.SpoolCodec.Size(options.BatchMax));
        if (options.Spool.MaxBytes < minimum)
        {
            failures.Add($"{S}:Spool:MaxBytes: {options.Spool.MaxBytes} is below {minimum} (1 MiB, or four batches of BatchMax observations)");
        }

        Positive(failures, "BatchInterval", options.BatchInterval);
        Positive(failures, "HeartbeatInterval", options.HeartbeatInterval);
        Positive(failures, "InterfacePoll", options.InterfacePoll);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Range(List<string> failures, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{AgentOptions.Section}:{key}: {value} is outside {min}..{max}");
        }
    }

    private static void Positive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{AgentOptions.Section}:{key}: {value} must be positive");
        }
    }
}
