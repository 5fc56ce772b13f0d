namespace HopCapture.Agent.Traffic;

/// <summary>
/// The "Agent:Traffic" section: per-interface traffic accounting for incident context (issue 14).
/// A separate pair of libpcap handles per captured interface, headers only, next to the echo
/// capture's handles (which it never slows: its own threads, its own kernel rings).
/// </summary>
public sealed class TrafficOptions
{
    public const string Section = "Agent:Traffic";

    /// <summary>Account every captured live interface (off: the agent answers traffic requests with an error).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Bytes captured per frame: Ethernet, two VLAN tags, IPv6 and the ports fit in 96.</summary>
    public int Snaplen { get; set; } = 96;

    /// <summary>Kernel ring per accounting handle, MiB. Headers only, so a small ring holds many frames.</summary>
    public int BufferSizeMb { get; set; } = 4;

    /// <summary>Width of a throughput bucket: fine enough to see a 100 ms burst that minute-level monitoring smooths away.</summary>
    public TimeSpan Bucket { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How far back the accounting reaches.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Distinct flows (5-tuple and direction) kept per second per interface; more are counted as unattributed.</summary>
    public int FlowsPerSecond { get; set; } = 128;

    /// <summary>Above this many packets per second on an interface, flows are sampled (totals stay exact); 0 = never.</summary>
    public long SampleAbove { get; set; } = 50_000;

    /// <summary>Rolling packet capture per accounted interface, MiB (0 = off): a time window can be cut from it as pcapng (capture pcap).</summary>
    public int RingMb { get; set; }

    /// <summary>Bytes kept of each frame in the ring: headers, ICMP echo and some payload.</summary>
    public int RingSnaplen { get; set; } = 128;

    /// <summary>Frames older than this (behind the newest) are not served from the ring.</summary>
    public TimeSpan RingMaxAge { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The accounting handles' snap length: the ring's when it keeps more.</summary>
    internal int CaptureSnaplen => RingMb > 0 ? Math.Max(Snaplen, RingSnaplen) : Snaplen;

    internal TrafficRecorderOptions Recorder => new(Bucket, Retention, FlowsPerSecond, SampleAbove);

    /// <summary>Every problem, each naming its key; empty when valid.</summary>
    public IEnumerable<string> Problems()
    {
        if (Snaplen is < 64 or > 65535)
        {
            yield return $"{Section}:Snaplen: {Snaplen} is outside 64..65535";
        }

        if (BufferSizeMb is < 1 or > 1024)
        {
            yield return $"{Section}:BufferSizeMb: {BufferSizeMb} is outside 1..1024";
        }

        if (Bucket < TimeSpan.FromMilliseconds(1) || Bucket > TimeSpan.FromMilliseconds(100))
        {
            yield return $"{Section}:Bucket: {Bucket} is outside 00:00:00.001..00:00:00.1 (bursts hide in coarser buckets)";
        }

        if (Retention < TimeSpan.FromSeconds(10) || Retention > TimeSpan.FromHours(1))
        {
            yield return $"{Section}:Retention: {Retention} is outside 00:00:10..01:00:00";
        }
        else if (Bucket > TimeSpan.Zero && Retention.Ticks / Math.Max(1, Bucket.Ticks) > 1_000_000)
        {
            yield return $"{Section}:Retention: {Retention} holds more than a million buckets of {Bucket}";
        }

        if (FlowsPerSecond is < 8 or > 65536)
        {
            yield return $"{Section}:FlowsPerSecond: {FlowsPerSecond} is outside 8..65536";
        }

        if (RingMb is < 0 or > 4096)
        {
            yield return $"{Section}:RingMb: {RingMb} is outside 0..4096";
        }

        if (RingSnaplen is < 64 or > 65535)
        {
            yield return $"{Section}:RingSnaplen: {RingSnaplen} is outside 64..65535";
        }

        if (RingMaxAge <= TimeSpan.Zero)
        {
            yield return $"{Section}:RingMaxAge: must be positive";
        }

        if (SampleAbove < 0)
        {
            yield return $"{Section}:SampleAbove: {SampleAbove} is negative";
        }
    }
}
