using System.Collections.Concurrent;
using Grpc.Core;
using HopCapture.Protos;

namespace HopCapture.Correlator.Probing;

/// <summary>
/// One agent stream's outgoing side. Acks and control commands share the gRPC response stream,
/// which allows one write at a time: every write goes through this gate.
/// </summary>
public sealed class AgentChannel(string node, Hello hello, IServerStreamWriter<CorrelatorMessage> writer) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public string Node { get; } = node;

    public Hello Hello { get; } = hello;

    public bool CanProbe => Hello.CanProbe;

    /// <summary>The last probe plan sent on this stream.</summary>
    public string PlanId { get; set; } = "";

    public async Task WriteAsync(CorrelatorMessage message, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await writer.WriteAsync(message, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}

/// <summary>
/// The control side of the ingest streams: which nodes have a stream now, sending them commands,
/// and routing their results to whoever waits (traces). Streams register after their Welcome.
/// </summary>
public sealed class ControlHub
{
    private readonly ConcurrentDictionary<string, AgentChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Action<ControlResult>> _waiters = new(StringComparer.Ordinal);

    /// <summary>Raised when the set of connected agents changes (plans must be recomputed).</summary>
    public event Action? Changed;

    public IReadOnlyCollection<AgentChannel> Channels => [.. _channels.Values];

    public AgentChannel? Find(string node) => _channels.GetValueOrDefault(node);

    public AgentChannel Attach(Hello hello, IServerStreamWriter<CorrelatorMessage> writer)
    {
        ArgumentNullException.ThrowIfNull(hello);
        var channel = new AgentChannel(hello.Node, hello, writer);

        // The newest stream of a node takes over (a reconnect racing the old stream).
        _channels[hello.Node] = channel;
        Changed?.Invoke();
        return channel;
    }

    public void Detach(AgentChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (_channels.TryRemove(new KeyValuePair<string, AgentChannel>(channel.Node, channel)))
        {
            Changed?.Invoke();
        }

        channel.Dispose();
    }

    /// <summary>Delivers a result from <paramref name="node"/> to the waiter of its command, if any.</summary>
    public void OnResult(string node, ControlResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (_waiters.TryGetValue(result.CommandId, out var waiter))
        {
            waiter(result);
        }
    }

    /// <summary>Routes results of <paramref name="commandId"/> to <paramref name="onResult"/> until disposed.</summary>
    public IDisposable Await(string commandId, Action<ControlResult> onResult)
    {
        _waiters[commandId] = onResult;
        return new Registration(() => _waiters.TryRemove(commandId, out _));
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }
}
