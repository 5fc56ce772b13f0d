using HopCapture.Engine.Model;

namespace HopCapture.Engine.Correlation;

/// <summary>What one logical point has seen of an in-flight probe.</summary>
internal struct PointSlot
{
    public int PointId;
    public int RequestIface;
    public int ReplyIface;
    public long RequestNs;
    public long ReplyNs;
    public PacketDirection RequestDirection;
    public PacketDirection ReplyDirection;
    public bool HasRequest;
    public bool HasReply;
}

/// <summary>
/// An in-flight probe. Pooled and reused: <see cref="Generation"/> changes on every reuse so
/// stale queue entries can recognise that the probe they pointed at is gone.
/// </summary>
internal sealed class ProbeState
{
    private const int InitialSlots = 8;

    public ProbeKey Key;
    public long FirstArrivalNs;
    public long LastArrivalNs;

    /// <summary>When a complete probe may be finalised (arrival time); later observations move it.</summary>
    public long DueNs;

    /// <summary>This probe has its entry (one at most) in the engine's settling queue.</summary>
    public bool Settling;

    /// <summary>The points this probe's path has been seen at (shared by the path's probes).</summary>
    public PointSet? PathPoints;
    public int Generation;
    public int Duplicates;

    /// <summary>An observation of this probe came from an imported capture.</summary>
    public bool Imported;
    public PointSlot[] Slots = new PointSlot[InitialSlots];
    public int Count;

    /// <summary>Requests and replies recorded, one per point each at most.</summary>
    public int Halves;

    public void Reset(ProbeKey key, long arrivalNs)
    {
        Key = key;
        FirstArrivalNs = arrivalNs;
        LastArrivalNs = arrivalNs;
        Duplicates = 0;
        Imported = false;
        Count = 0;
        Halves = 0;
        Settling = false;
    }

    public ReadOnlySpan<PointSlot> Points => Slots.AsSpan(0, Count);

    /// <summary>Records the observation; false when this point already saw this echo type.</summary>
    public bool Record(InterfaceEntry iface, in Observation observation)
    {
        var index = IndexOf(iface.PointId);
        if (index < 0)
        {
            if (Count == Slots.Length)
            {
                Array.Resize(ref Slots, Slots.Length * 2);
            }

            index = Count++;
            Slots[index] = new PointSlot { PointId = iface.PointId };
        }

        ref var slot = ref Slots[index];
        Imported |= observation.Imported;
        if (observation.Type == EchoType.Request)
        {
            if (slot.HasRequest)
            {
                return false;
            }

            slot.HasRequest = true;
            Halves++;
            slot.RequestNs = observation.TimestampNs;
            slot.RequestIface = iface.Id;
            slot.RequestDirection = observation.Direction;
        }
        else
        {
            if (slot.HasReply)
            {
                return false;
            }

            slot.HasReply = true;
            Halves++;
            slot.ReplyNs = observation.TimestampNs;
            slot.ReplyIface = iface.Id;
            slot.ReplyDirection = observation.Direction;
        }

        return true;
    }

    /// <summary>Every point that saw the request has seen the reply, and at least one saw both.</summary>
    public bool IsComplete
    {
        get
        {
            var anyRoundTrip = false;
            foreach (ref readonly var slot in Points)
            {
                if (slot.HasRequest && !slot.HasReply)
                {
                    return false;
                }

                anyRoundTrip |= slot.HasRequest && slot.HasReply;
            }

            return anyRoundTrip;
        }
    }

    private int IndexOf(int pointId)
    {
        for (var i = 0; i < Count; i++)
        {
            if (Slots[i].PointId == pointId)
            {
                return i;
            }
        }

        return -1;
    }
}
