using System.Net;
using System.Text;
using HopCapture.Correlator.Hosting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace HopCapture.Correlator.Alerts;

/// <summary>
/// Delivers the alert outbox to the configured webhooks. Per webhook in outbox order (a resolve
/// never overtakes its firing): POST with a per-attempt timeout and Polly retries (exponential
/// backoff, jitter); when a round fails the item stays in the outbox and is tried again after
/// a growing wait capped at MaxBackoff, so a receiver that is down gets every state change once
/// it is back. Each request carries an Idempotency-Key header unique to the alert and state (and
/// re-send). A firing alert gets its endsAt when it is sent, so one that waited in the outbox
/// never arrives already expired.
/// A receiver that refuses a notification (4xx other than 408/429) <c>MaxRejections</c> times
/// dead-letters it: counted, shown by <c>capture alerts</c>, and the webhook's queue moves on.
/// </summary>
public sealed partial class WebhookDispatcher : BackgroundService
{
    public const string IdempotencyHeader = "Idempotency-Key";

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly IOptionsMonitor<AlertOptions> _options;
    private readonly IAlertStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly HttpClient _http;
    private readonly Wakeup _wake;
    private readonly Dictionary<string, (WebhookOptions Options, ResiliencePipeline<HttpResponseMessage> Pipeline)> _pipelines = new(StringComparer.Ordinal);
    private long _delivered;
    private long _deadLettered;
    private long _failedRounds;
    private long _rounds;

    public WebhookDispatcher(IOptionsMonitor<AlertOptions> options, IAlertStore store, TimeProvider timeProvider, ILogger<WebhookDispatcher> logger)
    {
        _options = options;
        _store = store;
        _time = timeProvider;
        _logger = logger;
        _wake = new Wakeup(timeProvider);

        // Timeouts are Polly's (per attempt); the client itself never gives up first.
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5), PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Deliveries that failed (after their immediate retries) and went back to the outbox.</summary>
    public long FailedRounds => Interlocked.Read(ref _failedRounds);

    /// <summary>Notifications given up on because the receiver kept refusing them.</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    /// <summary>Times the outbox was scanned.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    public void Wake() => _wake.Set();

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DeliverDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (System.Data.Common.DbException ex)
            {
                // The store is away (a PostgreSQL restart, say): one line a round, the outbox waits.
                Log.StoreUnavailable(_logger, ex.Message);
            }
            catch (Exception ex)
            {
                Log.RoundFailed(_logger, ex);
            }

            Interlocked.Increment(ref _rounds);

            if (!await _wake.WaitAsync(PollInterval, stoppingToken))
            {
                return;
            }
        }
    }

    private async Task DeliverDueAsync(CancellationToken cancellationToken)
    {
        var config = _options.CurrentValue;
        var blocked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in _store.Due(_time.NowNs(), 100))
        {
            if (blocked.Contains(item.Webhook))
            {
                continue;
            }

            var hook = config.Webhooks.FirstOrDefault(w => w.Name == item.Webhook);
            if (hook is null)
            {
                // The webhook was removed from the configuration: keep the item for when it returns.
                _store.MarkFailed(item.Id, _time.NowNs() + (long)TimeSpan.FromMinutes(1).TotalNanoseconds, $"webhook '{item.Webhook}' is not configured");
                continue;
            }

            var endsAt = _time.NowNs() + (long)(config.ResendInterval.TotalNanoseconds * AlertOptions.EndsAtResends);
            var (error, refused) = await SendAsync(hook, item, AlertmanagerPayload.WithEndsAt(item.Body, endsAt), cancellationToken);
            if (error is null)
            {
                _store.MarkDelivered(item.Id, _time.NowNs());
                Interlocked.Increment(ref _delivered);
                Log.Delivered(_logger, item.IdempotencyKey, hook.Name);
                continue;
            }

            Interlocked.Increment(ref _failedRounds);
            if (refused && item.Attempts + 1 >= hook.MaxRejections)
            {
                _store.MarkDead(item.Id, _time.NowNs(), error);
                Interlocked.Increment(ref _deadLettered);
                Log.DeadLettered(_logger, item.IdempotencyKey, hook.Name, error, item.Attempts + 1);
                continue;
            }

            blocked.Add(item.Webhook);
            var backoff = TimeSpan.FromTicks(Math.Min(hook.MaxBackoff.Ticks, hook.RetryDelay.Ticks << Math.Min(item.Attempts, 20)));
            _store.MarkFailed(item.Id, _time.NowNs() + (long)backoff.TotalNanoseconds, error);
            Log.NotDelivered(_logger, item.IdempotencyKey, hook.Name, error, backoff.TotalSeconds);
        }
    }

    /// <summary>
    /// Null when the receiver accepted the notification, otherwise why not, and whether the
    /// receiver refused it (a 4xx other than 408/429: sending it again will not help).
    /// </summary>
    private async Task<(string? Error, bool Refused)> SendAsync(WebhookOptions hook, OutboxItem item, string body, CancellationToken cancellationToken)
    {
        var pipeline = Pipeline(hook);
        try
        {
            using var response = await pipeline.ExecuteAsync(
                async token =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url)
                    {
                        Content = new StringContent(body, Encoding.UTF8, "application/json"),
                    };
                    request.Headers.TryAddWithoutValidation(IdempotencyHeader, item.IdempotencyKey);
                    foreach (var (name, value) in hook.Headers)
                    {
                        request.Headers.TryAddWithoutValidation(name, value);
                    }

                    return await _http.SendAsync(request, token);
                },
                cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return (null, false);
            }

            var status = (int)response.StatusCode;
            var refused = status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
            return ($"HTTP {status} {response.ReasonPhrase}", refused);
        }
        catch (HttpRequestException ex)
        {
            return (ex.Message, false);
        }
        catch (TimeoutRejectedException)
        {
            return ($"no answer within {hook.Timeout.TotalSeconds} s", false);
        }
    }

    private ResiliencePipeline<HttpResponseMessage> Pipeline(WebhookOptions hook)
    {
        if (_pipelines.TryGetValue(hook.Name, out var cached) && ReferenceEquals(cached.Options, hook))
        {
            return cached.Pipeline;
        }

        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(1, hook.Retries),
                Delay = hook.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode == HttpStatusCode.TooManyRequests),
            })
            .AddTimeout(hook.Timeout)
            .Build();
        if (hook.Retries == 0)
        {
            pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time }.AddTimeout(hook.Timeout).Build();
        }

        _pipelines[hook.Name] = (hook, pipeline);
        return pipeline;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Notification {Key} delivered to {Webhook}")]
        public static partial void Delivered(ILogger logger, string key, string webhook);

        [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Notification {Key} not delivered to {Webhook}: {Error}; kept in the outbox, next try in {Seconds} s")]
        public static partial void NotDelivered(ILogger logger, string key, string webhook, string error, double seconds);

        [LoggerMessage(EventId = 5104, Level = LogLevel.Error,
            Message = "Notification {Key} dead-lettered: {Webhook} refused it {Attempts} times, last with {Error}; later notifications go on")]
        public static partial void DeadLettered(ILogger logger, string key, string webhook, string error, int attempts);

        [LoggerMessage(EventId = 5103, Level = LogLevel.Error, Message = "Webhook delivery round failed")]
        public static partial void RoundFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5105, Level = LogLevel.Warning, Message = "Webhook delivery round skipped: the store cannot be read ({Problem}); the outbox waits")]
        public static partial void StoreUnavailable(ILogger logger, string problem);
    }
}
