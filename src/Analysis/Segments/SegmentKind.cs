using System.Collections.Concurrent;

namespace HopCapture.Analysis.Segments;

/// <summary>One stretch of the canonical virtualised path a segment can span.</summary>
public enum SegmentPart : byte
{
    /// <summary>Two points on one spot of the path from different nodes, or a name nobody knows.</summary>
    Unknown = 0,

    /// <summary>Inside a guest: the prober's socket to the guest NIC.</summary>
    Stack = 1,

    /// <summary>virtio/vhost/tap between a guest NIC and its vif.</summary>
    Vif = 2,

    /// <summary>Bridge, firewall, qdisc, driver and physical NIC of one host.</summary>
    Nic = 3,

    /// <summary>The switches between two hosts' physical NICs.</summary>
    Fabric = 4,

    /// <summary>The responder's turnaround beyond the last point.</summary>
    Remote = 5,
}

/// <summary>
/// A segment's kind, typed: <c>fabric</c>, or a combined kind that spans several parts because the
/// points between them were not captured (<c>nic+fabric</c>, <c>vif+nic+fabric+nic+vif+remote</c>).
/// A combined kind knows its parts, so a selector can decide whether <c>fabric</c> covers
/// <c>nic+fabric</c> (<see cref="SegmentSelector"/>). Interned: one instance per name, compared by
/// reference; the engine's names and the stored ones map to the same instances.
/// </summary>
public sealed class SegmentKind : IEquatable<SegmentKind>
{
    // Kinds are a small set (the path has eight stretches); the bound only guards stored garbage.
    private const int MaxInterned = 4096;
    private static readonly ConcurrentDictionary<string, SegmentKind> Interned = new(StringComparer.Ordinal);

    private readonly SegmentPart[] _parts;

    private SegmentKind(string name, SegmentPart[] parts)
    {
        Name = name;
        _parts = parts;
    }

    public static SegmentKind Stack { get; } = Of("stack");

    public static SegmentKind Vif { get; } = Of("vif");

    public static SegmentKind Nic { get; } = Of("nic");

    public static SegmentKind Fabric { get; } = Of("fabric");

    public static SegmentKind Remote { get; } = Of("remote");

    public static SegmentKind Unknown { get; } = Of("unknown");

    /// <summary>As the engine names it and tables print it: parts joined with '+'.</summary>
    public string Name { get; }

    /// <summary>The stretches it spans, in path order (a part may repeat: nic+fabric+nic).</summary>
    public ReadOnlySpan<SegmentPart> Parts => _parts;

    /// <summary>More than one part: the points between them were not captured.</summary>
    public bool IsCombined => _parts.Length > 1;

    /// <summary>The kind of this name (case-insensitive); parts it does not know are <see cref="SegmentPart.Unknown"/>.</summary>
    public static SegmentKind Of(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Interned.TryGetValue(name, out var kind))
        {
            return kind;
        }

        var normalized = name.Trim().ToLowerInvariant();
        if (!ReferenceEquals(normalized, name) && normalized != name && Interned.TryGetValue(normalized, out kind))
        {
            return kind;
        }

        kind = new SegmentKind(normalized, ParseParts(normalized));
        if (Interned.Count < MaxInterned)
        {
            kind = Interned.GetOrAdd(normalized, kind);
            if (normalized != name)
            {
                Interned.TryAdd(name, kind);
            }
        }

        return kind;
    }

    /// <summary>Whether <paramref name="part"/> is one of the stretches this kind spans.</summary>
    public bool Contains(SegmentPart part) => Array.IndexOf(_parts, part) >= 0;

    /// <summary>
    /// Whether <paramref name="other"/>'s parts appear in this kind's, in order and next to each
    /// other: <c>nic+fabric+nic</c> contains <c>fabric</c> and <c>nic+fabric</c>, not <c>vif</c>.
    /// </summary>
    public bool Contains(SegmentKind other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        return other._parts.Length > 0 && _parts.AsSpan().IndexOf(other._parts) >= 0;
    }

    public bool Equals(SegmentKind? other) => other is not null && string.Equals(Name, other.Name, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as SegmentKind);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    public override string ToString() => Name;

    public static bool operator ==(SegmentKind? left, SegmentKind? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(SegmentKind? left, SegmentKind? right) => !(left == right);

    private static SegmentPart[] ParseParts(string name)
    {
        if (name.Length == 0)
        {
            return [];
        }

        var texts = name.Split('+');
        var parts = new SegmentPart[texts.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            parts[i] = texts[i] switch
            {
                "stack" => SegmentPart.Stack,
                "vif" => SegmentPart.Vif,
                "nic" => SegmentPart.Nic,
                "fabric" => SegmentPart.Fabric,
                "remote" => SegmentPart.Remote,
                _ => SegmentPart.Unknown,
            };
        }

        return parts;
    }
}
