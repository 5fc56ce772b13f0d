using HopCapture.Correlator.Storage;

namespace HopCapture.Tests.Support;

/// <summary>
/// The correlator settings of the alert delivery tests: one fabric p99 rule that fires on a
/// 120 ms fabric within half a second (1 s window, 300 ms hold, 5 samples) and one webhook "am"
/// with short retries, so a test sees state changes in seconds.
/// </summary>
public static class FabricAlertConfig
{
    public const string Src = "10.77.0.11";
    public const string Dst = "10.77.0.12";
    public const string Rule = "fabric-slow";

    /// <summary>The settings; <paramref name="resendInterval"/> overrides Correlator:Alerts:ResendInterval (default 60 s).</summary>
    public static Dictionary<string, string?> For(string webhookUrl, string? resendInterval = null)
    {
        var config = Base(webhookUrl);
        if (resendInterval is not null)
        {
            config["Correlator:Alerts:ResendInterval"] = resendInterval;
        }

        return config;
    }

    private static Dictionary<string, string?> Base(string webhookUrl) => new()
    {
        ["Correlator:Alerts:EvaluationInterval"] = "00:00:00.100",
        ["Correlator:Alerts:Rules:0:Name"] = Rule,
        ["Correlator:Alerts:Rules:0:Segment"] = "fabric",
        ["Correlator:Alerts:Rules:0:Statistic"] = "p99",
        ["Correlator:Alerts:Rules:0:Threshold"] = "50",
        ["Correlator:Alerts:Rules:0:Window"] = "00:00:01",
        ["Correlator:Alerts:Rules:0:For"] = "00:00:00.300",
        ["Correlator:Alerts:Rules:0:MinSamples"] = "5",
        ["Correlator:Alerts:Rules:0:Severity"] = "page",
        ["Correlator:Alerts:Webhooks:0:Name"] = "am",
        ["Correlator:Alerts:Webhooks:0:Url"] = webhookUrl,
        ["Correlator:Alerts:Webhooks:0:Timeout"] = "00:00:01",
        ["Correlator:Alerts:Webhooks:0:Retries"] = "1",
        ["Correlator:Alerts:Webhooks:0:RetryDelay"] = "00:00:00.050",
        ["Correlator:Alerts:Webhooks:0:MaxBackoff"] = "00:00:00.300",
    };

    /// <summary>Publishes a probe every 20 ms (as stored probes would arrive) until <paramref name="done"/>.</summary>
    public static async Task FeedUntilAsync(StoredProbeBus bus, Func<Protos.ProbeRecord> probe, Func<bool> done, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!done())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"timed out waiting for {what}");
            bus.Publish(probe());
            await Task.Delay(20, cancellationToken);
        }
    }
}

/// <summary>
/// A fabric that is slow (120 ms) or healthy (50 µs), fed to whichever correlator is current
/// every 20 ms in the background, so a test can hold a fault across restarts of the correlator.
/// </summary>
public sealed class FabricFeed : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private volatile StoredProbeBus? _bus;
    private volatile bool _faulty = true;

    public FabricFeed(StoredProbeBus bus)
    {
        _bus = bus;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                _bus?.Publish(Records.Answered(FabricAlertConfig.Src, FabricAlertConfig.Dst, "fabric", _faulty ? 120 : 0.05));
                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public bool Faulty
    {
        get => _faulty;
        set => _faulty = value;
    }

    /// <summary>The correlator probes go to; null while none runs.</summary>
    public StoredProbeBus? Bus
    {
        get => _bus;
        set => _bus = value;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
