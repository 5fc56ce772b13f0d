using System.Reflection;
using System.Threading.Channels;
using Grpc.Core;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Journal;
using HopCapture.Correlator.Probing;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using HopCapture.Security;
using Microsoft.Extensions.Options;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Correlator.Ingest;

/// <summary>
/// The agents' stream: Hello → Welcome, then batches (each acked once it is in the ingest
/// journal and queued for the engine, see <see cref="IngestJournal"/>) and heartbeats. Batches
/// are pipelined: the next one is read and queued for the journal while earlier ones are being
/// written; their acks go out in order as each is journalled (at most
/// <see cref="MaxBatchesInFlight"/> per stream).
/// </summary>
public sealed partial class IngestService(
    IOptionsMonitor<CorrelatorOptions> options,
    InterfaceCatalog catalog,
    AgentRegistry registry,
    ControlHub control,
    IngestRateLimits limits,
    IngestJournal journal,
    IngestQueueBudget budget,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<IngestService> logger) : Protos.Ingest.IngestBase
{
    /// <summary>Batches of one stream queued for the journal and not yet acked; past it the stream is read no further.</summary>
    public const int MaxBatchesInFlight = 64;

    public static readonly string Version =
        typeof(IngestService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    public override async Task Connect(
        IAsyncStreamReader<AgentMessage> requestStream,
        IServerStreamWriter<CorrelatorMessage> responseStream,
        ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        // Resolved per stream, so the constructor stays as the other features left it.
        var evidenceWriter = context.GetHttpContext().RequestServices.GetRequiredService<Causes.HostEvidenceWriter>();
        var cancellationToken = linked.Token;
        AgentState? state = null;
        AgentChannel? agentChannel = null;
        Channel<Task<Ack>>? acks = null;
        Task? ackWriter = null;
        Task<Ack>? lastSubmitted = null;
        try
        {
            if (!await requestStream.MoveNext(cancellationToken))
            {
                return;
            }

            if (requestStream.Current.BodyCase != AgentMessage.BodyOneofCase.Hello)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, "the first message on Connect must be a Hello"));
            }

            var hello = requestStream.Current.Hello;
            ValidateHello(hello);
            if (string.IsNullOrEmpty(hello.InstanceId))
            {
                // Without an instance id a reconnect cannot be recognised: every stream is its own instance.
                hello.InstanceId = "anon-" + Guid.NewGuid().ToString("N");
            }

            var ifaceIds = Register(hello.Node, hello.Interfaces);
            state = registry.Connect(hello, context.Peer);
            var resumeAfter = registry.AcceptedSeq(state) ?? 0;
            // Fixed for the stream: the Welcome told the agent which form to send.
            var acceptPacked = options.CurrentValue.AcceptPacked;
            Log.AgentConnected(logger, hello.Node, hello.InstanceId, context.Peer, hello.Interfaces.Count, resumeAfter);
            await responseStream.WriteAsync(
                new CorrelatorMessage
                {
                    Welcome = new Welcome
                    {
                        CorrelatorVersion = Version,
                        ResumeAfterSeq = resumeAfter,
                        AgentId = hello.Node + "/" + hello.InstanceId,
                        AcceptsPacked = acceptPacked,
                    },
                },
                cancellationToken);

            // From here acks share the response stream with control commands (plans, traces).
            agentChannel = control.Attach(hello, responseStream);
            acks = Channel.CreateBounded<Task<Ack>>(new BoundedChannelOptions(MaxBatchesInFlight) { SingleReader = true, SingleWriter = true });
            using var ackFailed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            ackWriter = WriteAcksAsync(acks.Reader, agentChannel, ackFailed, cancellationToken);
            while (await requestStream.MoveNext(ackFailed.Token))
            {
                var message = requestStream.Current;
                switch (message.BodyCase)
                {
                    case AgentMessage.BodyOneofCase.Batch:
                        lastSubmitted = await SubmitBatchAsync(state, ifaceIds, acceptPacked, message.Batch, cancellationToken);
                        await acks.Writer.WriteAsync(lastSubmitted, ackFailed.Token);
                        break;
                    case AgentMessage.BodyOneofCase.Interfaces:
                        ifaceIds = InterfacesChanged(state, message.Interfaces, ifaceIds.Length);
                        break;
                    case AgentMessage.BodyOneofCase.Heartbeat:
                        registry.Heartbeat(state, message.Heartbeat);
                        evidenceWriter.Post(hello.Node, message.Heartbeat.Evidence);
                        break;
                    case AgentMessage.BodyOneofCase.Hello:
                        throw new RpcException(new Status(StatusCode.FailedPrecondition,
                            "Hello may be sent only once per stream; reconnect to change the interface list"));
                    case AgentMessage.BodyOneofCase.ControlResult:
                        registry.Touch(state);
                        control.OnResult(hello.Node, message.ControlResult);
                        break;
                    default:
                        // Messages from newer agents: nothing to do yet.
                        registry.Touch(state);
                        break;
                }
            }

            // The agent completed its side: its last acks still go out before the call ends.
            acks.Writer.TryComplete();
            await ackWriter;
        }
        catch (OperationCanceledException) when (ackWriter is { IsFaulted: true })
        {
            // A batch could not be journalled: the stream ends with why (the agent re-sends).
            await ackWriter;
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the correlator is shutting down; reconnect and re-send un-acked batches"));
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The agent went away; its un-acked batches come again on the next stream.
        }
        catch (IOException) when (context.CancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            acks?.Writer.TryComplete();
            if (ackWriter is not null)
            {
                // No ack may be written after the call returns: the writer finishes (or fails) first.
                await ackWriter.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (state is not null)
            {
                await ForgetQueuedAsync(state, lastSubmitted);
            }

            if (agentChannel is not null)
            {
                control.Detach(agentChannel);
            }

            if (state is not null)
            {
                registry.Disconnect(state);
                Log.AgentDisconnected(logger, state.Node, state.InstanceId);
            }
        }
    }

    private void ValidateHello(Hello hello)
    {
        if (!NodeNames.IsValid(hello.Node, out var problem))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Hello.node '{hello.Node}' {problem}"));
        }

        var allowed = options.CurrentValue.AllowedNodes;
        if (allowed is { Length: > 0 } && !allowed.Contains(hello.Node, StringComparer.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"node '{hello.Node}' is not in {CorrelatorOptions.SectionName}:AllowedNodes"));
        }

        ValidateInterfaces(hello.Node, hello.Interfaces, "Hello");
    }

    /// <summary>The rules for an interface table, in a Hello or an InterfacesChanged.</summary>
    private static void ValidateInterfaces(string node, Google.Protobuf.Collections.RepeatedField<InterfaceInfo> interfaces, string message)
    {
        if (interfaces.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{message} from node '{node}' lists no interfaces"));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < interfaces.Count; i++)
        {
            var iface = interfaces[i];
            if (string.IsNullOrWhiteSpace(iface.Name))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{message}.interfaces[{i}] of node '{node}' has no name"));
            }

            if (iface.Role == Role.Unspecified || !Enum.IsDefined(iface.Role))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"interface '{iface.Name}' of node '{node}' has no role (guest, vif, bridge, nic or app)"));
            }

            if (!names.Add(iface.Name))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"interface '{iface.Name}' of node '{node}' is listed twice"));
            }
        }
    }

    /// <summary>Catalog ids by agent index (index = position in the table).</summary>
    private int[] Register(string node, IEnumerable<InterfaceInfo> interfaces) =>
    [
        .. interfaces.Select(i => catalog.Register(node, i.Name, string.IsNullOrWhiteSpace(i.Point) ? null : i.Point, i.Role.ToEngine()).Id),
    ];

    /// <summary>
    /// The agent's table grew or changed mid-stream (a VM's tap appeared or vanished, issue 10):
    /// validated like a Hello, append-only — an index keeps its name for the agent's lifetime —
    /// and from here batches may use the new indices.
    /// </summary>
    private int[] InterfacesChanged(AgentState state, InterfacesChanged changed, int known)
    {
        var node = state.Node;
        ValidateInterfaces(node, changed.Interfaces, "InterfacesChanged");
        var previous = registry.Interfaces(state);
        if (changed.Interfaces.Count < previous.Count)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"InterfacesChanged from node '{node}' lists {changed.Interfaces.Count} interfaces, fewer than the {previous.Count} it had: the table is append-only (a vanished interface stays with state \"gone\")"));
        }

        for (var i = 0; i < previous.Count; i++)
        {
            if (previous[i].Name != changed.Interfaces[i].Name)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"InterfacesChanged from node '{node}' renames interface {i} from '{previous[i].Name}' to '{changed.Interfaces[i].Name}': an index keeps its name for the agent's lifetime"));
            }
        }

        var ids = Register(node, changed.Interfaces);
        registry.InterfacesChanged(state, changed);
        if (logger.IsEnabled(LogLevel.Information))
        {
            var listed = string.Join(", ", changed.Interfaces.Select(i => string.IsNullOrEmpty(i.State) ? i.Name : $"{i.Name} {i.State}"));
            Log.InterfacesChanged(logger, node, changed.Interfaces.Count, changed.Interfaces.Count - known, listed);
        }
        return ids;
    }

    /// <summary>
    /// Checks a batch and queues it for the journal, in stream order; returns the ack to send once
    /// it is journalled. A batch at or below what this instance already had journalled or queued
    /// (a re-send after a reconnect) is acked again without being processed.
    /// </summary>
    private async Task<Task<Ack>> SubmitBatchAsync(AgentState state, int[] ifaceIds, bool acceptPacked, ObservationBatch batch, CancellationToken cancellationToken)
    {
        await state.BatchGate.WaitAsync(cancellationToken);
        try
        {
            if (Math.Max(registry.AcceptedSeq(state) ?? 0, state.QueuedSeq) is var taken and > 0 && batch.Seq <= taken)
            {
                Log.DuplicateBatch(logger, state.Node, batch.Seq);
                return Task.FromResult(new Ack { Seq = batch.Seq });
            }

            var observations = ObservationValidator.ConvertBatch(batch, ifaceIds, acceptPacked, out var rejected, out var firstReason);
            var count = observations.Count;
            if (count > 0)
            {
                // Waits while this node is over its rate: the missing acks slow the agent down.
                await limits.WaitAsync(state.Node, count, cancellationToken);
            }

            // Waits while the batches queued for the journal and the engine hold the whole byte
            // budget; the most behind stream goes first, so the agents' halves of a probe arrive together.
            var bytes = IngestQueueBudget.Cost(count);
            await budget.AcquireAsync(bytes, state.Span(observations, timeProvider.NowNs()), cancellationToken);

            // Journalled even when empty, so its seq is remembered; waits while the journal's queue is full.
            var journalled = await journal.EnqueueAsync(state, batch.Seq, batch.Imported, observations, bytes, cancellationToken);
            state.QueuedSeq = batch.Seq;
            return AckWhenJournalledAsync(journalled, state, batch.Seq, count, rejected, firstReason);
        }
        finally
        {
            state.BatchGate.Release();
        }
    }

    private async Task<Ack> AckWhenJournalledAsync(Task journalled, AgentState state, ulong seq, int count, int rejected, string firstReason)
    {
        await journalled;
        registry.CountBatch(state, seq, count, rejected);
        if (rejected > 0)
        {
            Log.ObservationsRejected(logger, state.Node, seq, rejected, firstReason);
        }

        return new Ack { Seq = seq, Accepted = (uint)count, Rejected = (uint)rejected, RejectReason = firstReason };
    }

    /// <summary>Writes each batch's ack, in order, as it is journalled; a journal failure cancels the stream's reading and ends it.</summary>
    private static async Task WriteAcksAsync(ChannelReader<Task<Ack>> acks, AgentChannel channel, CancellationTokenSource failed, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var ack in acks.ReadAllAsync(cancellationToken))
            {
                await channel.WriteAsync(new CorrelatorMessage { Ack = await ack }, cancellationToken);
            }
        }
        catch (RpcException)
        {
            await failed.CancelAsync();
            throw;
        }
    }

    /// <summary>
    /// The stream is over: once its queued batches are journalled (or failed — the journal writes
    /// in order, so the last one settles last), the instance's duplicate check goes back to what
    /// is journalled, so a batch that failed can be re-sent.
    /// </summary>
    private static async Task ForgetQueuedAsync(AgentState state, Task? lastSubmitted)
    {
        if (lastSubmitted is not null)
        {
            await lastSubmitted.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }


        await state.BatchGate.WaitAsync(CancellationToken.None);
        state.QueuedSeq = 0;
        state.BatchGate.Release();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
            Message = "Agent {Node} ({Instance}) connected from {Peer} with {Interfaces} interfaces, resuming after batch {ResumeAfter}")]
        public static partial void AgentConnected(ILogger logger, string node, string instance, string peer, int interfaces, ulong resumeAfter);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Agent {Node} ({Instance}) disconnected")]
        public static partial void AgentDisconnected(ILogger logger, string node, string instance);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Agent {Node} re-sent batch {Seq}; acknowledged without processing")]
        public static partial void DuplicateBatch(ILogger logger, string node, ulong seq);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Information,
            Message = "Agent {Node} changed its interfaces: {Count} ({Added} new): {Interfaces}")]
        public static partial void InterfacesChanged(ILogger logger, string node, int count, int added, string interfaces);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
            Message = "Agent {Node} batch {Seq}: {Rejected} observations rejected, first: {Reason}")]
        public static partial void ObservationsRejected(ILogger logger, string node, ulong seq, int rejected, string reason);
    }
}
