using System.Threading.Channels;
using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Capture;

/// <summary>
/// An observation plus the two wire fields the engine's <see cref="Observation"/> does not carry.
/// <see cref="Observation.Iface"/> is the index into the agent's interface list (Hello.interfaces).
/// </summary>
public readonly record struct CapturedObservation(Observation Observation, uint WireLength, ushort Vlan);

/// <summary>
/// The bounded hand-off from capture threads to the uploader. Capture threads never block on it:
/// a full queue drops the observation and the caller counts it (OpenTelemetry batch-processor style).
/// </summary>
public sealed class ObservationQueue
{
    private readonly Channel<CapturedObservation> _channel;

    public ObservationQueue(IOptions<AgentOptions> options)
        : this(options.Value.QueueCapacity)
    {
    }

    public ObservationQueue(int capacity)
    {
        _channel = Channel.CreateBounded<CapturedObservation>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public ChannelReader<CapturedObservation> Reader => _channel.Reader;

    /// <summary>Hot path: false when the queue is full (the caller counts the drop).</summary>
    public bool TryWrite(in CapturedObservation observation) => _channel.Writer.TryWrite(observation);

    /// <summary>For file replay, which may wait rather than drop.</summary>
    public ValueTask WriteAsync(CapturedObservation observation, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync(observation, cancellationToken);

    /// <summary>No more observations will come (every source finished).</summary>
    public void Complete() => _channel.Writer.TryComplete();
}
