namespace HopCapture.Engine.Model;

/// <summary>Where an observation point sits on a virtualised path.</summary>
public enum PointRole : byte
{
    Unknown = 0,
    Guest = 1,
    Vif = 2,
    Bridge = 3,
    Nic = 4,
    App = 5,
}

/// <summary>Packet direction as the kernel reported it for the captured interface.</summary>
public enum PacketDirection : byte
{
    Unknown = 0,
    In = 1,
    Out = 2,
}

public enum EchoType : byte
{
    Request = 1,
    Reply = 2,
}
