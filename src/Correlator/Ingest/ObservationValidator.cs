using System.Globalization;
using HopCapture.Engine.Model;
using ProtoObservation = HopCapture.Protos.Observation;

namespace HopCapture.Correlator.Ingest;

/// <summary>Checks one wire observation and converts it to the engine's form.</summary>
public static class ObservationValidator
{
    /// <param name="ifaceIds">Catalog id of each interface in the Hello, by Hello index.</param>
    /// <param name="problem">Why it was refused, naming the field; "" when valid.</param>
    public static bool TryConvert(ProtoObservation observation, IReadOnlyList<int> ifaceIds, out Observation result, out string problem)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(ifaceIds);
        result = default;
        if (observation.Iface >= (uint)ifaceIds.Count)
        {
            problem = $"iface {Num(observation.Iface)} is out of range (the Hello lists {Num(ifaceIds.Count)} interfaces)";
            return false;
        }

        if (observation.Src.Length is not (4 or 16))
        {
            problem = $"src is {Num(observation.Src.Length)} bytes (an IP address is 4 or 16)";
            return false;
        }

        if (observation.Dst.Length is not (4 or 16))
        {
            problem = $"dst is {Num(observation.Dst.Length)} bytes (an IP address is 4 or 16)";
            return false;
        }

        var type = observation.Type switch
        {
            HopCapture.Protos.EchoType.Request => EchoType.Request,
            HopCapture.Protos.EchoType.Reply => EchoType.Reply,
            _ => (EchoType)0,
        };
        if (type == 0)
        {
            problem = "type is not set (request or reply)";
            return false;
        }

        if (observation.TsNs <= 0)
        {
            problem = $"ts_ns {Num(observation.TsNs)} is not a unix time in ns";
            return false;
        }

        if (observation.IcmpId > ushort.MaxValue || observation.IcmpSeq > ushort.MaxValue)
        {
            problem = $"icmp_id {Num(observation.IcmpId)} / icmp_seq {Num(observation.IcmpSeq)} exceed 16 bits";
            return false;
        }

        result = new Observation(
            ifaceIds[(int)observation.Iface],
            observation.TsNs,
            IpAddress128.FromBytes(observation.Src.Span),
            IpAddress128.FromBytes(observation.Dst.Span),
            (ushort)observation.IcmpId,
            (ushort)observation.IcmpSeq,
            observation.PayloadHash,
            type,
            Contracts.Mapping.ContractMapping.ToEngine(observation.Direction));
        problem = "";
        return true;
    }

    private static string Num<T>(T value)
        where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);
}
