using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HopCapture.Correlator.Hosting;

namespace HopCapture.Correlator.Alerts;

/// <summary>
/// The body of Alertmanager's POST /api/v2/alerts: a JSON array of postable alerts
/// (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml). endsAt is set
/// only on resolution; a firing alert leaves it out, which Alertmanager reads as "still firing".
/// </summary>
public static class AlertmanagerPayload
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string Build(AlertInstance alert, string generatorUrl)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["summary"] = alert.Summary,
            ["value"] = alert.Value.ToString("0.###", CultureInfo.InvariantCulture) + " " + alert.Unit,
            ["threshold"] = alert.Rule.Threshold.ToString("0.###", CultureInfo.InvariantCulture) + " " + alert.Unit,
            ["worst_probes"] = string.Join(',', alert.WorstProbes.Select(id => id.ToString(CultureInfo.InvariantCulture))),
            ["path"] = alert.Path,
            ["alert_id"] = alert.Id.ToString(CultureInfo.InvariantCulture),
        };
        var posted = new PostableAlert(
            alert.Labels(),
            annotations,
            UnixTime.Rfc3339(alert.FiringNs),
            alert.State == AlertState.Resolved ? UnixTime.Rfc3339(alert.ResolvedNs) : null,
            generatorUrl.Length == 0 ? null : generatorUrl.TrimEnd('/') + "/" + alert.Id.ToString(CultureInfo.InvariantCulture));
        return JsonSerializer.Serialize(new[] { posted }, Json);
    }

    private sealed record PostableAlert(
        [property: JsonPropertyName("labels")] Dictionary<string, string> Labels,
        [property: JsonPropertyName("annotations")] Dictionary<string, string> Annotations,
        [property: JsonPropertyName("startsAt")] string StartsAt,
        [property: JsonPropertyName("endsAt")] string? EndsAt,
        [property: JsonPropertyName("generatorURL")] string? GeneratorUrl);
}
