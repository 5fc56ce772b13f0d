using System.Net.Sockets;
using Npgsql;
using Polly;
using Polly.Retry;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// The PostgreSQL store's retry rules, in one place: only a server that cannot be reached (or is
/// starting, or shutting down) is retried, with jittered exponential back-off capped at 10 s; a
/// wrong password or a missing database fails at once. At start the store waits up to
/// <see cref="StartPatience"/> and then stops the start; mid-run the writer waits for as long as
/// the server is away (the journal holds what it has not stored, and agents' acks wait behind it).
/// Each attempt that fails logs one line.
/// </summary>
internal sealed partial class PostgresRetry
{
    public static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(30);

    private readonly string _location;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _atStart;
    private readonly ResiliencePipeline _whileRunning;

    public PostgresRetry(string location, TimeProvider timeProvider, ILogger logger)
    {
        _location = location;
        _logger = logger;
        _atStart = Build(timeProvider, (int)(StartPatience / MaxDelay) + 4);
        _whileRunning = Build(timeProvider, int.MaxValue);
    }

    private static TimeSpan MaxDelay => TimeSpan.FromSeconds(10);

    /// <summary>Whether <paramref name="exception"/> says the server is away rather than refusing the request.</summary>
    public static bool IsUnreachable(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState is "57P01" or "57P02" or "57P03" or "08000" or "08003" or "08006" or "08001" or "08004",
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        _ => false,
    };

    /// <summary>The error as one line for an operator.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        PostgresException postgres => $"{postgres.MessageText} (SQLSTATE {postgres.SqlState})",
        NpgsqlException { InnerException: { } inner } npgsql => $"{npgsql.Message} ({inner.Message})",
        _ => exception.Message,
    };

    /// <summary>Runs <paramref name="action"/>, retrying while the server is unreachable, for <see cref="StartPatience"/> at most.</summary>
    public void AtStart(Action action) => _atStart.Execute(action);

    /// <summary>Runs <paramref name="action"/>, retrying for as long as the server is unreachable (one line per failed attempt).</summary>
    public T WhileRunning<T>(Func<T> action) => _whileRunning.Execute(action);

    private ResiliencePipeline Build(TimeProvider timeProvider, int attempts) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = attempts,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsUnreachable),
                OnRetry = args =>
                {
                    Log.Unreachable(_logger, _location, Describe(args.Outcome.Exception!), args.RetryDelay.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, Level = LogLevel.Warning, Message = "PostgreSQL at {Location} is unreachable: {Problem}; retrying in {Seconds:0.0} s")]
        public static partial void Unreachable(ILogger logger, string location, string problem, double seconds);
    }
}
