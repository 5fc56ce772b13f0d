using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture agents</c>: who is capturing where, what they lose, and how their clocks are.</summary>
public static class AgentsView
{
    public static IRenderable Build(ListAgentsResponse response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        var parts = new List<IRenderable>();
        foreach (var fault in response.StoreFaults)
        {
            parts.Add(Tables.Line(StoreFaultLine(fault, now)));
        }

        if (response.Agents.Count == 0)
        {
            parts.Add(Tables.Line("no agents have connected to this correlator"));
        }
        else
        {
            // The vm column only when some agent runs in a VM the correlator linked (issue 10).
            var vms = response.Agents.Any(a => a.Vm.Length > 0);
            string[] headers = ["node", "connected", "version", "interfaces", ">captured", ">kernel drops", ">queue drops",
                ">upload dropped", "spool", "clock", "last seen"];
            var table = Tables.Create(vms ? [headers[0], "vm", .. headers[1..]] : headers);
            foreach (var agent in response.Agents.OrderBy(a => a.Node, StringComparer.Ordinal))
            {
                string[] cells = [
                    agent.Node,
                    agent.Connected ? "yes" : "no",
                    string.IsNullOrEmpty(agent.AgentVersion) ? Formats.Missing : agent.AgentVersion,
                    Interfaces(agent),
                    Formats.Count(Sum(agent, s => s.Captured)),
                    Formats.Count(Sum(agent, s => s.KernelDropped + s.InterfaceDropped)),
                    Formats.Count(Sum(agent, s => s.QueueDropped)),
                    Formats.Count(agent.UploadDropped),
                    Spool(agent.Spool),
                    agent.ClockFlags.Count == 0 ? Clock(agent.Clock) : $"{Clock(agent.Clock)}; ! {string.Join("; ", agent.ClockFlags)}",
                    Formats.Ago(agent.LastSeenNs, now)];
                table.Row(vms ? [cells[0], agent.Vm.Length > 0 ? agent.Vm : Formats.Missing, .. cells[1..]] : cells);
            }

            parts.Add(table);
        }

        if (response.Offsets.Count > 0)
        {
            parts.Add(Tables.Blank());
            parts.Add(Tables.Line("clock offsets between adjacent points, estimated from the probes (far − near):"));
            parts.Add(OffsetsTable(response.Offsets, now));
        }

        if (response.Engine is { } engine)
        {
            parts.Add(Tables.Line(EngineLine(engine)));
        }

        return new Rows(parts);
    }

    /// <summary>First thing shown: while it lasts, every agent's data waits in its spool.</summary>
    public static string StoreFaultLine(StoreFaultInfo fault, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(fault);
        var what = fault.Part == "journal" ? "ingest journal" : "results store";
        return $"! the correlator's {what} cannot write ({fault.Problem}; first failed {Formats.Ago(fault.SinceNs, now)}): " +
               "agents are held back — no batch is acked, they keep their data in their spools";
    }

    public static string EngineLine(EngineStats engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var line = $"engine: {Formats.Count(engine.Observations)} observations, " +
            $"in flight {Formats.Count(engine.InFlight)}/{Formats.Count(engine.InFlightCap)}, " +
            $"{Formats.Count(engine.ProbesFinalized)} finalised, {Formats.Count(engine.Evicted)} evicted, " +
            $"{Formats.Count(engine.Late)} late, {Formats.Count(engine.Duplicates)} duplicates";
        line = engine.Rejected > 0 ? line + $", {Formats.Count(engine.Rejected)} rejected" : line;
        // The engine was full and ingest waited (agents were slowed, nothing dropped).
        return engine.HeldBack > 0 ? line + $", held ingest back {Formats.Count(engine.HeldBack)} times" : line;
    }

    public static IRenderable OffsetsTable(IEnumerable<ClockOffset> offsets, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        var table = Tables.Create("near", "far", ">offset", ">±", "state", ">samples", ">steps", "last step");
        foreach (var offset in offsets)
        {
            table.Row(
                $"{offset.NearNode}/{offset.NearPoint}",
                $"{offset.FarNode}/{offset.FarPoint}",
                Formats.Millis(offset.OffsetNs),
                Formats.Millis(offset.UncertaintyNs),
                offset.State,
                Formats.Count(offset.Samples),
                Formats.Count(offset.Steps),
                offset.Steps == 0 ? Formats.Missing : $"{Formats.Duration(offset.LastStepNs)}, {Formats.Ago(offset.LastStepAtNs, now)}");
        }

        return table;
    }

    private static string Interfaces(AgentInfo agent)
    {
        var names = new List<string>(agent.Interfaces.Count);
        for (var i = 0; i < agent.Interfaces.Count; i++)
        {
            var info = agent.Interfaces[i];
            var text = $"{info.Name}={Formats.Role(info.Role)}";
            if (!string.IsNullOrEmpty(info.Point) && info.Point != info.Name)
            {
                text += ":" + info.Point;
            }

            // A hypervisor's vif: the VM behind it.
            if (!string.IsNullOrEmpty(info.VmId) || !string.IsNullOrEmpty(info.VmName))
            {
                text += $" (vm {string.Join(' ', new[] { info.VmId, info.VmName }.Where(v => !string.IsNullOrEmpty(v)))})";
            }

            // A dead capture is the first thing to see: it explains missing points in explain.
            // The heartbeat's state is the newer one; the table's detail says why.
            var stats = agent.Stats.FirstOrDefault(s => s.Iface == (uint)i);
            var state = stats is { State.Length: > 0 } ? stats.State : info.State;
            var detail = !string.IsNullOrEmpty(info.Detail) ? info.Detail : stats?.Error ?? "";
            if (state is "waiting" or "gone")
            {
                text += $" ({state})";
            }
            else if (state == "error" || stats is { Error.Length: > 0 })
            {
                text += $" (error: {(detail.Length > 0 ? detail : "unknown")})";
            }
            else if (stats is { Up: false } && state != "capturing")
            {
                text += " (down)";
            }

            names.Add(text);
        }

        return names.Count == 0 ? Formats.Missing : string.Join(", ", names);
    }

    /// <summary>"4.2 MiB, 12 pending; 3 dropped, 512 B torn, 40 replayed": only what is not zero after the size.</summary>
    public static string Spool(SpoolStats? spool)
    {
        if (spool is null)
        {
            return Formats.Missing;
        }

        var text = $"{Bytes(spool.Bytes)}, {Formats.Count(spool.PendingBatches)} pending";
        var notes = new List<string>();
        if (spool.DroppedBatches > 0)
        {
            notes.Add($"{Formats.Count(spool.DroppedBatches)} dropped");
        }

        if (spool.TornBytes > 0)
        {
            notes.Add($"{Bytes(spool.TornBytes)} torn");
        }

        if (spool.ReplayedBatches > 0)
        {
            notes.Add($"{Formats.Count(spool.ReplayedBatches)} replayed");
        }

        return notes.Count == 0 ? text : $"{text}; {string.Join(", ", notes)}";
    }

    private static string Bytes(ulong bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
        _ => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
    };

    private static ulong Sum(AgentInfo agent, Func<InterfaceStats, ulong> value) =>
        agent.Stats.Aggregate(0UL, (total, stats) => total + value(stats));

    private static string Clock(ClockStatus? clock) => clock switch
    {
        null => "unknown",
        { Synchronized: true } => $"synced ±{Formats.Duration(clock.EstimatedErrorNs)}",
        { Source: "unknown" or "" } => "unknown",
        _ => $"not synced (max err {Formats.Duration(clock.MaxErrorNs)})",
    };
}
