namespace HopCapture.Analysis.Reports;

/// <summary>Nearest-rank percentiles: path summaries, trace reports and alert rules agree on the rank.</summary>
public static class Percentiles
{
    /// <summary>The value at nearest rank ceil(p·n) of an ascending list; default for an empty one.</summary>
    public static T Nearest<T>(IReadOnlyList<T> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            return default!;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
