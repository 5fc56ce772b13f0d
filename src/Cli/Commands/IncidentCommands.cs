using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary><c>capture incidents</c>, <c>capture incident show ID</c> and <c>capture top</c> (issue 14).</summary>
internal static class IncidentCommands
{
    public static Command Incidents(CliRun run)
    {
        var since = CliOptions.TimeBound("--since", "Incidents opened after this (default 24h): an age or an RFC 3339 time", run.Context);
        var limit = CliOptions.Number("--limit", "At most this many (default 100)", 1, 10_000);
        var command = new Command("incidents", "Incidents: a segment blamed by an alert or a cluster of slow/lost probes, with the traffic that filled it")
        {
            since,
            limit,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var response = await invocation.Connection.Client.ListIncidentsAsync(
                new ListIncidentsRequest { SinceNs = invocation.Parse.GetValue(since) ?? 0, Limit = (uint)(invocation.Parse.GetValue(limit) ?? 0) },
                invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => IncidentsView.List(response, invocation.Now));
        }));
        return command;
    }

    public static Command Incident(CliRun run)
    {
        var id = new Argument<long?>("ID")
        {
            Description = "Incident id, as 'capture incidents' lists them",
            CustomParser = result => CliOptions.ParseNumber(result, "ID", 1, long.MaxValue),
        };
        var png = new Option<FileInfo?>("--png") { Description = "Also draw the path's round trip and the blamed link's throughput around the spike into this PNG", HelpName = "FILE" };
        var show = new Command("show", "One incident: verdict, worst probes, top talkers and their shares, bond slaves, line rate, throughput timeline")
        {
            id, png,
        };
        show.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var incident = await invocation.Connection.Client.GetIncidentAsync(
                new GetIncidentRequest { Id = invocation.Parse.GetValue(id) ?? 0 }, invocation.Connection.Unary(cancellationToken));
            if (invocation.Parse.GetValue(png) is { } file)
            {
                // Probes are filed by arrival at the correlator, a moment after capture: a margin each side.
                var margin = (long)TimeSpan.FromSeconds(5).TotalNanoseconds;
                var probes = await ProbesAsync(invocation, incident.Src, incident.Dst, incident.WindowFromNs - margin, incident.WindowToNs + margin, cancellationToken);
                var picture = new PictureData($"incident {incident.Id}: {incident.Verdict}", probes, incident.Segment, [.. incident.Windows], incident.SpikeFromNs, incident.SpikeToNs);
                await File.WriteAllBytesAsync(file.FullName, PathPicture.Png(picture), cancellationToken);
                invocation.Context.Error.WriteLine($"capture: drew {probes.Count} probes and {incident.Windows.Count} traffic windows into {file.FullName}");
            }

            return invocation.Show(incident, () => IncidentsView.Show(incident, invocation.Today));
        }));
        return new Command("incident", "Look at one incident (capture incident show ID)") { show };
    }

    public static Command Top(CliRun run)
    {
        var node = new Option<string>("--node") { Description = "The agent's node", Required = true, HelpName = "NODE" };
        var iface = new Option<string?>("--iface") { Description = "One interface (default: every interface the agent accounts)", HelpName = "IFACE" };
        var at = CliOptions.TimeBound("--at", "End of the window (default now): an age like 2m or an RFC 3339 time; the agent keeps 5 minutes", run.Context);
        var window = CliOptions.Duration("--window", "Length of the window (default 10s)");
        var top = CliOptions.Number("--top", "Flows per interface (default 10)", 1, 1000);
        var command = new Command("top", "An interface's flows by bytes, live or a few minutes back, like iftop with ports (asks the agent)")
        {
            node, iface, at, window, top,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var response = await invocation.Connection.Client.GetTrafficAsync(
                new GetTrafficRequest
                {
                    Node = parse.GetValue(node) ?? "",
                    Iface = parse.GetValue(iface) ?? "",
                    AtNs = parse.GetValue(at) ?? 0,
                    WindowNs = parse.GetValue(window) ?? 0,
                    Top = (uint)(parse.GetValue(top) ?? 0),
                },
                invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => TopView.Build(response, invocation.Today));
        }));
        return command;
    }

    public static Command Pcap(CliRun run)
    {
        var node = new Option<string>("--node") { Description = "The agent's node", Required = true, HelpName = "NODE" };
        var iface = new Option<string>("--iface") { Description = "The interface (its agent keeps a packet ring: Agent:Traffic:RingMb)", Required = true, HelpName = "IFACE" };
        var from = CliOptions.TimeBound("--from", "Start of the slice: an age like 2m or an RFC 3339 time", run.Context);
        from.Required = true;
        var to = CliOptions.TimeBound("--to", "End of the slice (default now)", run.Context);
        var output = new Option<FileInfo>("--output", "-o") { Description = "The pcapng file to write", Required = true, HelpName = "FILE" };
        var command = new Command("pcap", "Cut a time slice out of an interface's rolling packet capture as pcapng (interface name and direction per packet), like editcap -A/-B")
        {
            node, iface, from, to, output,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var toNs = parse.GetValue(to) ?? invocation.Now.ToUnixTimeMilliseconds() * 1_000_000L;
            var slice = await invocation.Connection.Client.GetPcapAsync(
                new GetPcapRequest { Node = parse.GetValue(node) ?? "", Iface = parse.GetValue(iface) ?? "", FromNs = parse.GetValue(from) ?? 0, ToNs = toNs },
                invocation.Connection.Unary(cancellationToken));
            var file = parse.GetValue(output)!;
            await File.WriteAllBytesAsync(file.FullName, slice.Pcapng.ToByteArray(), cancellationToken);
            var written = slice.Clone();
            written.Pcapng = Google.Protobuf.ByteString.Empty;
            return invocation.Show(written, () => Tables.Line(
                $"wrote {slice.Packets} packets ({Rendering.TrafficText.Bytes((ulong)slice.Pcapng.Length)}) of {slice.Node}/{slice.Iface} to {file.FullName}" +
                (slice.Truncated ? "; cut short at the size limit: ask for a shorter window for the rest" : "")));
        }));
        return command;
    }

    public static Command Plot(CliRun run)
    {
        var src = CliOptions.Address("--src", "The path's source address");
        src.Required = true;
        var dst = CliOptions.Address("--dst", "The path's destination address");
        dst.Required = true;
        var since = CliOptions.TimeBound("--since", "From (default 5m): an age or an RFC 3339 time", run.Context);
        var until = CliOptions.TimeBound("--until", "To (default now)", run.Context);
        var segment = new Option<string?>("--segment") { Description = "The segment kind whose cost to draw (default fabric)", HelpName = "KIND" };
        var node = new Option<string?>("--node") { Description = "Draw this agent's link throughput underneath (with --iface; the agent keeps 5 minutes)", HelpName = "NODE" };
        var iface = new Option<string?>("--iface") { Description = "The link whose throughput to draw", HelpName = "IFACE" };
        var png = new Option<FileInfo>("--png") { Description = "The PNG to write", Required = true, HelpName = "FILE" };
        var command = new Command("plot", "Draw a path's round trip and a segment's cost over time, SmokePing-style (median and spread), with a link's throughput underneath, into a PNG")
        {
            src, dst, since, until, segment, node, iface, png,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var nowNs = invocation.Now.ToUnixTimeMilliseconds() * 1_000_000L;
            var fromNs = parse.GetValue(since) ?? nowNs - (long)TimeSpan.FromMinutes(5).TotalNanoseconds;
            var toNs = parse.GetValue(until) ?? nowNs;
            if ((parse.GetValue(node) is null) != (parse.GetValue(iface) is null))
            {
                throw new Connection.CliUsageException("plot: give --node and --iface together (the link whose throughput to draw)");
            }

            var probes = await ProbesAsync(invocation, parse.GetValue(src)!, parse.GetValue(dst)!, fromNs, toNs, cancellationToken);
            var windows = new List<TrafficWindow>();
            if (parse.GetValue(node) is { } agent)
            {
                var traffic = await invocation.Connection.Client.GetTrafficAsync(
                    new GetTrafficRequest { Node = agent, Iface = parse.GetValue(iface)!, AtNs = toNs, WindowNs = toNs - fromNs, Top = 1 },
                    invocation.Connection.Unary(cancellationToken));
                windows.AddRange(traffic.Windows);
            }

            var file = parse.GetValue(png)!;
            var picture = new PictureData(Formats.Path(parse.GetValue(src)!, parse.GetValue(dst)!), probes, parse.GetValue(segment) ?? "fabric", windows, 0, 0);
            await File.WriteAllBytesAsync(file.FullName, PathPicture.Png(picture), cancellationToken);
            var summary = new ListProbesResponse();
            summary.Probes.AddRange(probes);
            return invocation.Show(summary, () => Tables.Line($"drew {probes.Count} probes and {windows.Count} traffic windows into {file.FullName}"));
        }));
        return command;
    }

    /// <summary>The path's probes of a window, oldest first (the store answers newest first, at most 10 000).</summary>
    private static async Task<List<ProbeRecord>> ProbesAsync(Invocation invocation, string src, string dst, long fromNs, long toNs, CancellationToken cancellationToken)
    {
        var response = await invocation.Connection.Client.ListProbesAsync(
            new ListProbesRequest { Path = new PathFilter { Src = src, Dst = dst }, SinceNs = fromNs, UntilNs = toNs, Limit = 10_000 },
            invocation.Connection.Unary(cancellationToken));
        return [.. response.Probes.OrderBy(p => p.FirstTsNs)];
    }
}
