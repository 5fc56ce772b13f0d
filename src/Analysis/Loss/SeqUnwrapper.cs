namespace HopCapture.Analysis.Loss;

/// <summary>
/// Turns 16-bit icmp_seqs into a run's own count (1, 2, … 65,536, 65,537, …): each seq is placed
/// at the extended number nearest to the furthest one seen so far, so a run longer than 65,536
/// probes never folds two probes onto one number. Probes may arrive out of order (lost ones are
/// final only at the probe timeout) by up to half the seq space.
/// </summary>
public sealed class SeqUnwrapper
{
    private long _furthest;
    private bool _any;

    /// <summary>The extended number of <paramref name="seq"/>; the first seq seen is taken as is.</summary>
    public long Unwrap(ushort seq)
    {
        if (!_any)
        {
            _any = true;
            _furthest = seq;
            return seq;
        }

        // The signed 16-bit distance from the furthest seq seen picks the nearest epoch.
        var delta = (short)(ushort)(seq - (ushort)_furthest);
        var extended = _furthest + delta;
        if (extended > _furthest)
        {
            _furthest = extended;
        }

        return extended;
    }
}
