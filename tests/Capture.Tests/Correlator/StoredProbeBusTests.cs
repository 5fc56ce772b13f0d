using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Correlator;

/// <summary>Only probes the store wrote reach alerts, metrics and Watch.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class StoredProbeBusTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task Publish_StoredProbe_ReachesSubscribersWithItsId()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var bus = correlator.Services.GetRequiredService<StoredProbeBus>();
        using var subscription = bus.Subscribe(_ => true);

        await Report003.SendAllAsync(correlator);
        var stored = await subscription.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(stored.Probe.Id, Is.GreaterThan(0));
            Assert.That(stored.ToRecord().Id, Is.EqualTo(stored.Probe.Id), "the record as stored (the bus carries the probe alone)");
            Assert.That(stored.Probe.Verdict?.Kind.Name, Is.EqualTo("fabric"));
        });
    }

    [Test]
    public async Task StoreWriteFails_ProbeReachesNoSubscriber()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var bus = correlator.Services.GetRequiredService<StoredProbeBus>();
        var writer = correlator.Services.GetRequiredService<StoreWriter>();
        using var subscription = bus.Subscribe(_ => true);
        using (var connection = new SqliteConnection($"Data Source={correlator.DatabasePath}"))
        {
            // The store can no longer write probes: every insert fails.
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE probe_partitions RENAME TO probe_partitions_gone";
            command.ExecuteNonQuery();
        }

        await Report003.SendAllAsync(correlator);
        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(writer.Failed), failed => failed > 0, "the store to refuse the probe", Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(subscription.Reader.TryRead(out _), Is.False, "a probe the store does not have is neither alerted on, counted nor watched");
            Assert.That(writer.Stored, Is.EqualTo(0));
        });
    }

    [Test]
    public void Publish_ProbeWithoutStoreId_IsRefused()
    {
        var bus = new StoredProbeBus();
        var record = Records.Answered("10.0.0.1", "10.0.0.2");
        record.Id = 0;

        Assert.That(() => bus.Publish(record), Throws.ArgumentException.With.Message.Contains("no store id"));
    }
}
