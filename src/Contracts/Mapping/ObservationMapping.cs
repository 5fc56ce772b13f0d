using HopCapture.Protos;
using EngineEchoType = HopCapture.Engine.Model.EchoType;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Contracts.Mapping;

/// <summary>An engine observation as the ingest contract carries it (agent upload, analyze --load).</summary>
public static class ObservationMapping
{
    public static Observation ToProto(this in EngineObservation o, uint wireLength, ushort vlan) => new()
    {
        Iface = (uint)o.Iface,
        Direction = o.Direction.ToProto(),
        TsNs = o.TimestampNs,
        Src = ContractMapping.AddressBytes(o.Src),
        Dst = ContractMapping.AddressBytes(o.Dst),
        Type = o.Type == EngineEchoType.Request ? EchoType.Request : EchoType.Reply,
        IcmpId = o.IcmpId,
        IcmpSeq = o.IcmpSeq,
        PayloadHash = o.PayloadHash,
        WireLength = wireLength,
        Vlan = vlan,
    };
}
