using HopCapture.Protos;

namespace HopCapture.Agent.Evidence;

/// <summary>
/// The host evidence an agent holds: bounded by count and age, the oldest dropped first. Each
/// heartbeat takes what it has not sent yet (deltas only); a new stream (a Hello) sends all that
/// is still held again, since heartbeats are not acked — the correlator ignores what it has.
/// </summary>
public sealed class HostEvidenceBuffer(int capacity, TimeSpan retention)
{
    private readonly Queue<(long Seq, HostEvidence Evidence)> _held = new();
    private readonly Lock _lock = new();
    private long _nextSeq = 1;
    private long _sentThrough;

    /// <summary>Changes dropped because the buffer was full before they aged out.</summary>
    public long Dropped { get; private set; }

    public void Add(IEnumerable<HostEvidence> changes, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(changes);
        lock (_lock)
        {
            foreach (var change in changes)
            {
                if (_held.Count >= capacity)
                {
                    _held.Dequeue();
                    Dropped++;
                }

                _held.Enqueue((_nextSeq++, change));
            }

            var oldest = nowNs - (long)retention.TotalMilliseconds * 1_000_000;
            while (_held.TryPeek(out var head) && head.Evidence.TsNs < oldest)
            {
                _held.Dequeue();
            }
        }
    }

    /// <summary>What no heartbeat of this stream carried yet; marks it sent.</summary>
    public List<HostEvidence> TakeUnsent()
    {
        lock (_lock)
        {
            var unsent = _held.Where(e => e.Seq > _sentThrough).Select(e => e.Evidence).ToList();
            _sentThrough = _nextSeq - 1;
            return unsent;
        }
    }

    /// <summary>A new stream: the next heartbeat carries everything still held.</summary>
    public void ResendAll()
    {
        lock (_lock)
        {
            _sentThrough = 0;
        }
    }
}
