namespace HopCapture.Agent.Capture;

/// <summary>Per-interface counters, written by capture threads and read by heartbeats.</summary>
public sealed class InterfaceCounters
{
    private long _captured;
    private long _queueDropped;
    private long _malformed;
    private long _kernelDropped;
    private long _interfaceDropped;
    private long _kernelDroppedBefore;
    private long _interfaceDroppedBefore;
    private volatile string? _error;
    private volatile bool _up;

    public long Captured => Interlocked.Read(ref _captured);

    public long QueueDropped => Interlocked.Read(ref _queueDropped);

    public long Malformed => Interlocked.Read(ref _malformed);

    public long KernelDropped => Interlocked.Read(ref _kernelDropped);

    public long InterfaceDropped => Interlocked.Read(ref _interfaceDropped);

    public bool Up
    {
        get => _up;
        set => _up = value;
    }

    public string? Error
    {
        get => _error;
        set => _error = value;
    }

    /// <summary>
    /// Set from outside the capture loop (pcap_stats, summed over the handles) right before a heartbeat.
    /// </summary>
    public void SetKernelCounters(long dropped, long interfaceDropped)
    {
        Interlocked.Exchange(ref _kernelDropped, Interlocked.Read(ref _kernelDroppedBefore) + dropped);
        Interlocked.Exchange(ref _interfaceDropped, Interlocked.Read(ref _interfaceDroppedBefore) + interfaceDropped);
    }

    /// <summary>The handles are closing (the interface vanished): later handles count on top of what they counted.</summary>
    public void RetireKernelCounters()
    {
        Interlocked.Exchange(ref _kernelDroppedBefore, KernelDropped);
        Interlocked.Exchange(ref _interfaceDroppedBefore, InterfaceDropped);
    }

    public void AddCaptured() => Interlocked.Increment(ref _captured);

    public void AddQueueDropped() => Interlocked.Increment(ref _queueDropped);

    public void AddMalformed() => Interlocked.Increment(ref _malformed);
}
