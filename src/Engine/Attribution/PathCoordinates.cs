using HopCapture.Engine.Model;

namespace HopCapture.Engine.Attribution;

/// <summary>
/// Places a point on the canonical virtualised path
/// <c>app(-1) guest(0) vif(1) bridge(2) nic(3) ═ fabric ═ nic(4) bridge(5) vif(6) guest(7)</c>.
/// The level comes from the role; the side (sender's or responder's) from the direction the
/// kernel reported for the request: a guest or a NIC sends the request out on the sender's side,
/// a vif receives it there (the hypervisor's tap receives what the guest transmits).
/// </summary>
public static class PathCoordinates
{
    public const int Unknown = int.MinValue;

    /// <summary>The stretch between coordinate x and x+1, indexed by x+1.</summary>
    private static readonly string[] Gaps = ["stack", "vif", "nic", "nic", "fabric", "nic", "nic", "vif"];

    public const int Last = 7;

    // Every stretch's name, made once: kinds are named per segment of every probe, and the
    // typed kinds after the engine look names up by reference.
    private static readonly string[,] Stretches = BuildStretches();
    private static readonly string[] Remotes = BuildRemotes();

    public static int Level(PointRole role) => role switch
    {
        PointRole.App => -1,
        PointRole.Guest => 0,
        PointRole.Vif => 1,
        PointRole.Bridge => 2,
        PointRole.Nic => 3,
        _ => Unknown,
    };

    /// <summary>
    /// True for the sender's side, false for the responder's, null when the role and direction
    /// do not say (bridges see both legs inbound in promiscuous mode; pcap files lack direction).
    /// </summary>
    public static bool? SenderSide(PointRole role, PacketDirection requestDirection) => (role, requestDirection) switch
    {
        (PointRole.App, _) => true,
        (PointRole.Guest or PointRole.Nic, PacketDirection.Out) => true,
        (PointRole.Guest or PointRole.Nic, PacketDirection.In) => false,
        (PointRole.Vif, PacketDirection.In) => true,
        (PointRole.Vif, PacketDirection.Out) => false,
        _ => null,
    };

    /// <summary>The request's direction at a point, inferred from the reply's when only that was seen.</summary>
    public static PacketDirection RequestDirection(bool hasRequest, PacketDirection request, bool hasReply, PacketDirection reply)
    {
        if (hasRequest && request != PacketDirection.Unknown)
        {
            return request;
        }

        return hasReply ? reply switch
        {
            PacketDirection.In => PacketDirection.Out,
            PacketDirection.Out => PacketDirection.In,
            _ => PacketDirection.Unknown,
        } : PacketDirection.Unknown;
    }

    public static int Coordinate(int level, bool senderSide) =>
        level == Unknown ? Unknown : senderSide ? level : Last - level;

    /// <summary>
    /// The kind of the stretch between two coordinates: one kind, or the kinds it spans joined
    /// with '+' where points are missing ("vif+nic", "nic+fabric+nic").
    /// </summary>
    public static string Kind(int from, int to)
    {
        var lo = Math.Min(from, to);
        var hi = Math.Max(from, to);
        if (lo != hi)
        {
            return lo >= -1 && hi <= Last ? Stretches[lo + 1, hi + 1] : Join(lo, hi, null);
        }

        // Two points at one place of the path: inside a guest's stack, or inside one host.
        return lo is <= 0 or >= Last ? "stack" : "nic";
    }

    /// <summary>What lies beyond the last point: the responder's turnaround plus any uncaptured stretch.</summary>
    public static string RemoteKind(int lastCoordinate) =>
        lastCoordinate == Unknown || lastCoordinate >= Last ? "remote"
        : lastCoordinate >= -1 ? Remotes[lastCoordinate + 1]
        : Join(lastCoordinate, Last, "remote");

    private static string[,] BuildStretches()
    {
        var names = new string[Last + 2, Last + 2];
        for (var lo = -1; lo <= Last; lo++)
        {
            for (var hi = lo + 1; hi <= Last; hi++)
            {
                names[lo + 1, hi + 1] = Join(lo, hi, null);
            }
        }

        return names;
    }

    private static string[] BuildRemotes()
    {
        var names = new string[Last + 1];
        for (var last = -1; last < Last; last++)
        {
            names[last + 1] = Join(last, Last, "remote");
        }

        return names;
    }

    private static string Join(int lo, int hi, string? tail)
    {
        Span<int> picked = stackalloc int[Gaps.Length];
        var count = 0;
        for (var x = lo; x < hi; x++)
        {
            var gap = x + 1;
            if (count == 0 || Gaps[picked[count - 1]] != Gaps[gap])
            {
                picked[count++] = gap;
            }
        }

        var parts = new string[count + (tail is null ? 0 : 1)];
        for (var i = 0; i < count; i++)
        {
            parts[i] = Gaps[picked[i]];
        }

        if (tail is not null)
        {
            parts[^1] = tail;
        }

        return string.Join('+', parts);
    }
}
