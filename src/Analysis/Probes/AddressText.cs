using HopCapture.Engine.Model;

namespace HopCapture.Analysis.Probes;

/// <summary>
/// The printable form of addresses, kept once per address: a cluster has few addresses, and
/// formatting one costs more than correlating the probe that carries it.
/// </summary>
public static class AddressText
{
    private static readonly BoundedCache<UInt128, string> Cache = new(65_536, IpAddress128.Format);

    /// <summary>As <see cref="IpAddress128.Format"/> prints it (dotted quad for IPv4).</summary>
    public static string Of(UInt128 address) => Cache.Get(address);
}
