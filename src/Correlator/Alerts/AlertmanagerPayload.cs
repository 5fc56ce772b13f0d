using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using HopCapture.Correlator.Hosting;

namespace HopCapture.Correlator.Alerts;

/// <summary>
/// The body of Alertmanager's POST /api/v2/alerts: a JSON array of postable alerts
/// (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml). A resolution
/// carries its real end time as endsAt. A firing alert is stored without one and stamped with a
/// future endsAt when it is sent (<see cref="WithEndsAt"/>), as Prometheus does: Alertmanager
/// keeps it active until then, and the next re-send moves it on. Without endsAt Alertmanager
/// would resolve it after its resolve_timeout while the fault goes on (issue 13).
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

    /// <summary>The body with endsAt set on every alert that has none (the firing ones), at send time.</summary>
    public static string WithEndsAt(string body, long endsAtNs)
    {
        if (JsonNode.Parse(body) is not JsonArray alerts)
        {
            return body;
        }

        foreach (var alert in alerts.OfType<JsonObject>().Where(a => !a.ContainsKey("endsAt")))
        {
            alert["endsAt"] = UnixTime.Rfc3339(endsAtNs);
        }

        return alerts.ToJsonString();
    }

    private sealed record PostableAlert(
        [property: JsonPropertyName("labels")] Dictionary<string, string> Labels,
        [property: JsonPropertyName("annotations")] Dictionary<string, string> Annotations,
        [property: JsonPropertyName("startsAt")] string StartsAt,
        [property: JsonPropertyName("endsAt")] string? EndsAt,
        [property: JsonPropertyName("generatorURL")] string? GeneratorUrl);
}
