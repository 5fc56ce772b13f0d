using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// <c>capture analyze</c>: the files read, then the live CLI's own views (paths, probes, loss,
/// freezes, explain) over what the engine made of them.
/// </summary>
public static class AnalyzeView
{
    public static IRenderable Build(AnalyzeReport report, long minRttNs)
    {
        ArgumentNullException.ThrowIfNull(report);
        var parts = new List<IRenderable> { Files(report) };
        if (report.Engine is { } engine)
        {
            parts.Add(Tables.Line(
                $"{Formats.Count(engine.Observations)} echoes correlated into {Formats.Count(engine.ProbesFinalized)} probes" +
                (engine.Late + engine.Duplicates + engine.Evicted > 0
                    ? $" ({Formats.Count(engine.Duplicates)} duplicates, {Formats.Count(engine.Late)} late, {Formats.Count(engine.Evicted)} evicted)"
                    : "")));
        }

        parts.Add(Tables.Blank());
        parts.Add(Tables.Bold("paths"));
        parts.Add(PathsView.Build(report.Paths ?? new ListPathsResponse()));
        parts.Add(Tables.Blank());
        parts.Add(Tables.Bold(minRttNs > 0 ? $"slowest probes (round trip ≥ {Formats.Duration(minRttNs)})" : "slowest probes"));
        parts.Add(ProbesView.Build(report.Slow ?? new ListProbesResponse(), Today(report)));
        if (report.Lost is { Matched: > 0 } lost)
        {
            parts.Add(Tables.Blank());
            parts.Add(Tables.Bold("lost probes"));
            parts.Add(ProbesView.Build(lost, Today(report)));
        }

        if (report.Loss is { } loss && loss.Paths.Any(static p => p.Lost > 0))
        {
            parts.Add(Tables.Blank());
            parts.Add(Tables.Bold("loss"));
            parts.Add(LossView.Build(loss));
        }

        if (report.Freezes is { Freezes.Count: > 0 } freezes)
        {
            parts.Add(Tables.Blank());
            parts.Add(Tables.Bold("freezes"));
            parts.Add(FreezesView.Build(freezes, Today(report)));
        }

        foreach (var probe in report.Explained)
        {
            parts.Add(Tables.Blank());
            parts.Add(ExplainView.Build(probe));
        }

        if (report.Load is { } load)
        {
            parts.Add(Tables.Blank());
            parts.Add(Tables.Line(
                $"loaded into {load.Correlator}: {Formats.Count(load.Observations)} observations in {Formats.Count(load.Batches)} batches, " +
                $"{Formats.Count(load.Accepted)} accepted, {Formats.Count(load.Rejected)} rejected" +
                (load.FirstRejectReason.Length > 0 ? $" (first: {load.FirstRejectReason})" : "")));
        }

        return new Rows(parts);
    }

    private static Table Files(AnalyzeReport report)
    {
        var table = Tables.Create("file", "node", "interfaces", "role", ">records", ">echoes", "note");
        foreach (var file in report.Files)
        {
            table.Row(
                file.Path,
                file.Node,
                string.Join(",", file.Interfaces),
                Formats.Role(file.Role),
                Formats.Count(file.Records),
                Formats.Count(file.Echoes),
                Note(file));
        }

        return table;
    }

    /// <summary>What went wrong in a file, in a few words: cuts, refused frames.</summary>
    public static string Note(AnalyzedFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var notes = new List<string>();
        if (file.FileTruncated)
        {
            notes.Add("file cut mid-record: read up to the cut");
        }
        else if (file.Error.Length > 0)
        {
            notes.Add("stopped early: " + file.Error);
        }

        if (file.CutFrames > 0)
        {
            notes.Add($"{Formats.Count(file.CutFrames)} frames cut before the echo header");
        }

        if (file.Malformed > 0)
        {
            notes.Add($"{Formats.Count(file.Malformed)} malformed");
        }

        if (file.UnsupportedLink > 0)
        {
            notes.Add($"{Formats.Count(file.UnsupportedLink)} on unsupported link types");
        }

        return string.Join("; ", notes);
    }

    /// <summary>Probe times print without a date when they fall on the day the capture started.</summary>
    private static DateOnly Today(AnalyzeReport report)
    {
        var first = report.Paths?.Paths.Count > 0 ? report.Paths.Paths.Min(static p => p.FirstTsNs) : 0;
        return DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(first / 1_000_000).UtcDateTime);
    }
}
