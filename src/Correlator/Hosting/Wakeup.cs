using System.Threading.Channels;

namespace HopCapture.Correlator.Hosting;

/// <summary>
/// A background loop's pause: ends when someone calls <see cref="Set"/> (new work) or after a
/// period on the injected clock (scheduled work), whichever comes first. Wakes never pile up.
/// </summary>
public sealed class Wakeup(TimeProvider timeProvider)
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Set() => _signal.Writer.TryWrite(true);

    /// <summary>Waits for a wake or <paramref name="period"/>; false once <paramref name="stoppingToken"/> is cancelled.</summary>
    public async Task<bool> WaitAsync(TimeSpan period, CancellationToken stoppingToken)
    {
        using var timer = new CancellationTokenSource(period, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, stoppingToken);
        try
        {
            await _signal.Reader.ReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // the period is up
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return true;
    }
}
