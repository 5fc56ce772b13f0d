using System.CommandLine;
using Google.Protobuf;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Rendering;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Commands;

/// <summary>
/// State of one <c>capture</c> run shared by the commands: the global options and the address
/// actually used, which the failure message needs after the action has thrown.
/// </summary>
internal sealed class CliRun
{
    public CliRun(CliContext context)
    {
        Context = context;
        Correlator = CliOptions.Correlator(context);
        Json = CliOptions.Json();
        Timeout = CliOptions.Timeout(context);
        Credentials = new CliCredentials(context);
        AddressText = CorrelatorAddress.Default;
        CallTimeout = context.CallTimeout;
    }

    public CliContext Context { get; }

    public Option<string> Correlator { get; }

    public Option<bool> Json { get; }

    /// <summary>--timeout: the deadline of each call (default <see cref="CliContext.CallTimeout"/>).</summary>
    public Option<long?> Timeout { get; }

    /// <summary>The deadline in effect for this run (the failure message names it).</summary>
    public TimeSpan CallTimeout { get; private set; }

    /// <summary>--token, --ca, --cert, --key and their environment variables.</summary>
    public CliCredentials Credentials { get; }

    public string AddressText { get; private set; }

    /// <summary>Wraps a command body: resolves the address, opens the channel, closes it after.</summary>
    public Func<ParseResult, CancellationToken, Task<int>> Action(Func<Invocation, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            var text = parse.GetValue(Correlator);
            if (!CorrelatorAddress.TryParse(text, out var address, out var error))
            {
                throw new CliUsageException(error);
            }

            AddressText = CorrelatorAddress.Display(address);
            if (parse.GetValue(Timeout) is { } timeoutNs)
            {
                CallTimeout = TimeSpan.FromTicks(timeoutNs / 100);
            }

            var credentials = Credentials.Resolve(parse, address);
            using var connection = new CorrelatorConnection(address, credentials, CallTimeout, Context.Time);
            return await body(new Invocation(parse, Context, connection, parse.GetValue(Json)), cancellationToken);
        };
}

/// <summary>What a command body works with.</summary>
internal sealed class Invocation(ParseResult parse, CliContext context, CorrelatorConnection connection, bool json)
{
    public ParseResult Parse { get; } = parse;

    public CliContext Context { get; } = context;

    public CorrelatorConnection Connection { get; } = connection;

    public bool Json { get; } = json;

    public DateTimeOffset Now => Context.Time.GetUtcNow();

    public DateOnly Today => DateOnly.FromDateTime(Now.UtcDateTime);

    public void Render(IRenderable renderable) => Consoles.Create(Context.Out, Context.OutIsTerminal).Write(renderable);

    public void WriteJson(IMessage message)
    {
        Context.Out.WriteLine(JsonOutput.Format(message));
        Context.Out.Flush();
    }

    /// <summary>JSON or the human view of one response, then exit 0.</summary>
    public int Show(IMessage message, Func<IRenderable> view)
    {
        if (Json)
        {
            WriteJson(message);
        }
        else
        {
            Render(view());
        }

        return ExitCodes.Ok;
    }
}
