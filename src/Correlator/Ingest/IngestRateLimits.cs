using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using HopCapture.Correlator.Hosting;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Ingest;

/// <summary>
/// A token bucket of observations per node: a node that sends more than
/// <see cref="CorrelatorOptions.AgentMaxObservationsPerSecond"/> has its batches held (its acks
/// come later, which slows its uploader) before they reach the engine's shared queue, so one
/// flooding agent never delays the others' batches behind its own.
/// </summary>
public sealed class IngestRateLimits(IOptions<CorrelatorOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _byNode = new(StringComparer.Ordinal);
    private readonly int _perSecond = options.Value.AgentMaxObservationsPerSecond;

    /// <summary>Waits until <paramref name="node"/> may hand <paramref name="observations"/> more to the engine.</summary>
    public async ValueTask WaitAsync(string node, int observations, CancellationToken cancellationToken)
    {
        if (_perSecond <= 0 || observations <= 0)
        {
            return;
        }

        var limiter = _byNode.GetOrAdd(node, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            // One second's worth as burst, refilled every 100 ms.
            TokenLimit = _perSecond,
            TokensPerPeriod = Math.Max(1, _perSecond / 10),
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        }));

        // A batch larger than the bucket is taken in bucket-sized parts.
        for (var left = observations; left > 0;)
        {
            var part = Math.Min(left, _perSecond);
            using var lease = await limiter.AcquireAsync(part, cancellationToken);
            left -= part;
        }
    }

    public void Dispose()
    {
        foreach (var limiter in _byNode.Values)
        {
            limiter.Dispose();
        }
    }
}
