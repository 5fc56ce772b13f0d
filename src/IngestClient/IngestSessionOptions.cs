using HopCapture.Protos;

namespace HopCapture.IngestClient;

/// <summary>How an <see cref="IngestSession"/> talks to the correlator. Defaults are the agent's.</summary>
public sealed class IngestSessionOptions
{
    /// <summary>How long the correlator has to answer a Hello; past it the stream is retried.</summary>
    public TimeSpan WelcomeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After the request stream is completed, how long to wait for the correlator to close its side.</summary>
    public TimeSpan FinalAckTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// An established stream that breaks sooner than this counts as a failed attempt (backoff);
    /// a longer one reconnects at once.
    /// </summary>
    public TimeSpan ShortSession { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries of transient failures before <see cref="IngestSession.RunAsync"/> gives up; the agent never does.</summary>
    public int MaxRetryAttempts { get; init; } = int.MaxValue;

    /// <summary>Sent every <see cref="HeartbeatInterval"/> while a stream is up; none when null.</summary>
    public Func<DateTimeOffset, Heartbeat>? Heartbeat { get; init; }

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The client's interface table version (bumped on every change), or null for a client whose
    /// table never changes. When it differs from the version the stream last carried (in its
    /// Hello or an InterfacesChanged), the session sends <see cref="Interfaces"/> before the next
    /// batch, so the correlator knows every index a batch uses.
    /// </summary>
    public Func<long>? InterfacesVersion { get; init; }

    /// <summary>The whole interface table, index = position; required with <see cref="InterfacesVersion"/>.</summary>
    public Func<IEnumerable<InterfaceInfo>>? Interfaces { get; init; }
}
