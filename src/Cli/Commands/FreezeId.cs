using System.Globalization;
using HopCapture.Cli.Connection;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary>
/// A freeze as <c>capture freezes</c> prints it: the ping run's ICMP id and the first lost seq,
/// <c>ID/SEQ</c> (freezes are derived from the stored probes, so this pair is their identity).
/// </summary>
internal readonly record struct FreezeId(uint IcmpId, uint FirstSeq)
{
    /// <summary>How far back <c>--against</c> looks for the freeze.</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromHours(24);

    public static FreezeId Parse(string text)
    {
        var parts = text.Trim().Split('/');
        if (parts.Length == 2
            && uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id <= ushort.MaxValue
            && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq <= ushort.MaxValue)
        {
            return new FreezeId(id, seq);
        }

        throw new CliUsageException($"--against: '{text}' is not a freeze id; give ICMP_ID/FIRST_SEQ as 'capture freezes' prints them (id 22822, seq 21→68: 22822/21)");
    }

    public bool Matches(FreezeInfo freeze) => !freeze.Silence && freeze.IcmpId == IcmpId && freeze.FirstSeq == FirstSeq;

    public override string ToString() => $"{IcmpId}/{FirstSeq}";
}
