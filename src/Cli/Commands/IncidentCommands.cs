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
        var show = new Command("show", "One incident: verdict, worst probes, top talkers and their shares, bond slaves, line rate, throughput timeline")
        {
            id,
        };
        show.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var incident = await invocation.Connection.Client.GetIncidentAsync(
                new GetIncidentRequest { Id = invocation.Parse.GetValue(id) ?? 0 }, invocation.Connection.Unary(cancellationToken));
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
}
