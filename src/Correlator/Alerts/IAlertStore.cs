using HopCapture.Protos;

namespace HopCapture.Correlator.Alerts;

/// <summary>One notification waiting in the outbox for one webhook.</summary>
public sealed record OutboxItem(long Id, string Webhook, string IdempotencyKey, string Body, int Attempts);

/// <summary>
/// Alert history and the notification outbox, in the results store. A state change and its
/// notifications are written in one transaction, so a crash never loses a notification and a
/// delivered one is marked once: each receiver gets each state change once (the idempotency key
/// covers the rare retry after a lost response). Every method is atomic.
/// </summary>
public interface IAlertStore
{
    /// <summary>Own tables, created if missing; they do not touch the probes schema version.</summary>
    void Initialize();

    /// <summary>
    /// Records a transition (a new alert when its Id is 0, which is then set) and queues one
    /// notification per webhook (idempotency key "hopcapture-alert-ID-STATE-WEBHOOK", a duplicate
    /// key ignored), atomically.
    /// </summary>
    void Record(AlertTransition transition, IReadOnlyList<string> webhooks, Func<AlertInstance, string> body, long nowNs);

    /// <summary>Undelivered, not dead-lettered notifications with next_ns at or before now, oldest (by id) first.</summary>
    IReadOnlyList<OutboxItem> Due(long nowNs, int limit);

    void MarkDelivered(long id, long nowNs);

    /// <summary>Counts a failed attempt and sets when the next is due.</summary>
    void MarkFailed(long id, long nextNs, string error);

    /// <summary>Gives up on a notification the receiver keeps refusing: kept for `capture alerts`, never sent again.</summary>
    void MarkDead(long id, long nowNs, string error);

    /// <summary>Notifications not yet delivered (nor dead-lettered), all webhooks.</summary>
    long Undelivered();

    /// <summary>Notifications given up on because their receiver refused them.</summary>
    long DeadLettered();

    /// <summary>Firing alerts, and resolved ones since <paramref name="sinceNs"/>, firing first then newest firing_ns first, with their deliveries.</summary>
    IReadOnlyList<AlertRecord> List(long sinceNs, int limit);

    /// <summary>Alerts left firing by the previous run, by id, for the evaluator and the agent-down monitor to adopt.</summary>
    IReadOnlyList<FiringAlert> Firing();

    /// <summary>
    /// Which of <paramref name="firing"/> are due a re-send to which webhook: nothing of theirs waits
    /// in the outbox and the newest one was settled (delivered or dead-lettered) at or before
    /// <paramref name="dueNs"/>; a webhook with nothing for the alert is due at once (Resend 1).
    /// </summary>
    IReadOnlyList<(long AlertId, string Webhook, int Resend)> DueResends(IReadOnlyCollection<long> firing, IReadOnlyList<string> webhooks, long dueNs);

    /// <summary>Queues re-sends of firing alerts at the outbox's tail (key "...-firing-resendN-WEBHOOK"), atomically.</summary>
    void QueueResends(IEnumerable<(long AlertId, string Webhook, int Resend, string Body)> resends, long nowNs);
}

/// <summary>The stored names of alert states.</summary>
public static class AlertStates
{
    public static string Name(AlertState state) => state switch
    {
        AlertState.Pending => "pending",
        AlertState.Firing => "firing",
        AlertState.Resolved => "resolved",
        _ => "inactive",
    };

}
