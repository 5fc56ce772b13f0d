using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Evidence;

/// <summary>
/// What <c>ethtool -S/-c/-k</c> shows of a NIC, read with the SIOCETHTOOL ioctl on one datagram
/// socket opened in the agent's network namespace: no <c>ethtool</c> binary, no fork per sample.
/// Driver counters that look like drops or errors (ring overruns, missed, fifo, timeouts, XDP
/// drops) are read every sample; their names are read once per device (again when its ifindex
/// changes). Coalescing and offloads change only when someone runs <c>ethtool -C/-K</c>, so they
/// are read every <see cref="HostEvidenceOptions.SettingsEvery"/> and repeated from the cache in
/// between. What a driver does not support (EOPNOTSUPP: veth has no coalescing) or the agent may
/// not read (EPERM, ENODEV) is skipped for that device, logged once at debug.
/// </summary>
internal sealed unsafe partial class EthtoolReader : IDisposable
{
    private const int AfInet = 2;
    private const int SockDgram = 2;
    private const int SockCloexec = 0x80000;
    private const nint SiocEthtool = 0x8946;
    private const uint GetCoalesce = 0x0e;
    private const uint GetStrings = 0x1b;
    private const uint GetStats = 0x1d;
    private const uint GetSsetInfo = 0x37;
    private const int StatsSet = 1;
    private const int StringLength = 32;
    private const int IfreqLength = 40;
    private const int IfNameLength = 16;
    private const int Eopnotsupp = 95;

    /// <summary>The legacy one-value offload gets, in <c>ethtool -k</c>'s words.</summary>
    private static readonly (uint Command, string Name)[] Offloads =
    [
        (0x1e, "tso"), (0x23, "gso"), (0x2b, "gro"), (0x18, "sg"), (0x14, "rx-csum"), (0x16, "tx-csum"),
    ];

    /// <summary>Parts of a driver counter's name that mean something was lost or went wrong.</summary>
    private static readonly string[] LossWords = ["drop", "err", "miss", "fifo", "over", "timeout", "busy", "full"];

    private readonly int _fd;
    private readonly long _settingsEveryNs;
    private readonly ILogger _logger;
    private readonly Dictionary<string, DeviceCache> _devices = [];

    private EthtoolReader(int fd, TimeSpan settingsEvery, ILogger logger)
    {
        _fd = fd;
        _settingsEveryNs = (long)settingsEvery.TotalMicroseconds * 1000;
        _logger = logger;
    }

    /// <summary>A reader, or null with the reason when no socket can be opened here.</summary>
    public static EthtoolReader? TryOpen(TimeSpan settingsEvery, ILogger logger, out string? reason)
    {
        var fd = socket(AfInet, SockDgram | SockCloexec, 0);
        if (fd < 0)
        {
            reason = $"socket: errno {Marshal.GetLastPInvokeError()}";
            return null;
        }

        reason = null;
        return new EthtoolReader(fd, settingsEvery, logger);
    }

    /// <summary>
    /// Adds the device's driver counters (kind <c>counter</c>, named <c>driver:NAME</c> so they
    /// never meet a sysfs counter of the same name) and its <c>coalesce</c> and <c>offload</c> states.
    /// </summary>
    public void Read(string device, int ifIndex, long nowNs, List<Reading> into)
    {
        if (!_devices.TryGetValue(device, out var cache) || cache.IfIndex != ifIndex)
        {
            cache = new DeviceCache(ifIndex);
            _devices[device] = cache;
        }

        ReadStats(device, cache, into);
        if (cache.SettingsReadNs is null || nowNs - cache.SettingsReadNs >= _settingsEveryNs)
        {
            cache.SettingsReadNs = nowNs;
            cache.Coalesce = cache.NoCoalesce ? null : Coalesce(device, cache);
            cache.Offload = cache.NoOffload ? null : Offload(device, cache);
        }

        if (cache.Coalesce is { } coalesce)
        {
            into.Add(Reading.State("coalesce", "coalesce", coalesce));
        }

        if (cache.Offload is { } offload)
        {
            into.Add(Reading.State("offload", "offload", offload));
        }
    }

    /// <summary>Forgets devices no longer sampled (a tap that went with its VM).</summary>
    public void Retain(ICollection<string> devices)
    {
        foreach (var gone in _devices.Keys.Where(d => !devices.Contains(d)).ToList())
        {
            _devices.Remove(gone);
        }
    }

    /// <summary>Every driver counter of <paramref name="device"/> by name (all of <c>ethtool -S</c>), or null when unreadable.</summary>
    internal Dictionary<string, long>? AllStats(string device)
    {
        var names = StatNames(device, out _);
        var values = names is null ? null : StatValues(device, names.Length, out _);
        return values is null ? null : names!.Zip(values).GroupBy(p => p.First).ToDictionary(g => g.Key, g => (long)g.First().Second, StringComparer.Ordinal);
    }

    /// <summary>Whether a driver counter's name says it counts loss or errors.</summary>
    internal static bool IsLoss(string name) => LossWords.Any(w => name.Contains(w, StringComparison.OrdinalIgnoreCase));

    public void Dispose() => _ = close(_fd);

    private void ReadStats(string device, DeviceCache cache, List<Reading> into)
    {
        if (cache.NoStats)
        {
            return;
        }

        if (cache.StatNames is null)
        {
            var names = StatNames(device, out var errno);
            if (names is null)
            {
                Unreadable(device, cache, "driver statistics", errno);
                cache.NoStats = true;
                return;
            }

            cache.StatNames = names;
            cache.LossIndexes = [.. Enumerable.Range(0, names.Length).Where(i => IsLoss(names[i]))];
            if (cache.LossIndexes.Length == 0)
            {
                cache.NoStats = true;
                return;
            }
        }

        var values = StatValues(device, cache.StatNames.Length, out var failed);
        if (values is null)
        {
            // A driver whose set changed size (a queue added) is asked for its names again next time.
            cache.StatNames = null;
            Unreadable(device, cache, "driver statistics", failed);
            return;
        }

        foreach (var index in cache.LossIndexes)
        {
            into.Add(Reading.Counter("counter", "driver:" + cache.StatNames[index], (long)values[index]));
        }
    }

    private string[]? StatNames(string device, out int errno)
    {
        // struct ethtool_sset_info { u32 cmd; u32 reserved; u64 sset_mask; u32 data[1]; }
        var info = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(info, GetSsetInfo);
        BinaryPrimitives.WriteUInt64LittleEndian(info.AsSpan(8), 1UL << StatsSet);
        if (!Call(device, info, out errno))
        {
            return null;
        }

        var count = BinaryPrimitives.ReadUInt64LittleEndian(info.AsSpan(8)) == 0 ? 0 : (int)BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(16));
        // struct ethtool_gstrings { u32 cmd; u32 string_set; u32 len; u8 data[len * ETH_GSTRING_LEN]; }
        var strings = new byte[12 + (count * StringLength)];
        BinaryPrimitives.WriteUInt32LittleEndian(strings, GetStrings);
        BinaryPrimitives.WriteUInt32LittleEndian(strings.AsSpan(4), StatsSet);
        BinaryPrimitives.WriteUInt32LittleEndian(strings.AsSpan(8), (uint)count);
        if (!Call(device, strings, out errno))
        {
            return null;
        }

        var names = new string[Math.Min(count, (int)BinaryPrimitives.ReadUInt32LittleEndian(strings.AsSpan(8)))];
        for (var i = 0; i < names.Length; i++)
        {
            var raw = strings.AsSpan(12 + (i * StringLength), StringLength);
            var end = raw.IndexOf((byte)0);
            names[i] = Encoding.ASCII.GetString(end < 0 ? raw : raw[..end]);
        }

        return names;
    }

    private ulong[]? StatValues(string device, int count, out int errno)
    {
        // struct ethtool_stats { u32 cmd; u32 n_stats; u64 data[n_stats]; }
        var stats = new byte[8 + (count * 8)];
        BinaryPrimitives.WriteUInt32LittleEndian(stats, GetStats);
        BinaryPrimitives.WriteUInt32LittleEndian(stats.AsSpan(4), (uint)count);
        if (!Call(device, stats, out errno))
        {
            return null;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(stats.AsSpan(4)) != (uint)count)
        {
            return null;
        }

        var values = new ulong[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt64LittleEndian(stats.AsSpan(8 + (i * 8)));
        }

        return values;
    }

    /// <summary><c>ethtool -c</c>'s main lines: "rx-usecs 3, rx-frames 0, tx-usecs 0, tx-frames 0, adaptive rx off tx off".</summary>
    private string? Coalesce(string device, DeviceCache cache)
    {
        // struct ethtool_coalesce: cmd and 22 u32 fields.
        var c = new byte[92];
        BinaryPrimitives.WriteUInt32LittleEndian(c, GetCoalesce);
        if (!Call(device, c, out var errno))
        {
            Unreadable(device, cache, "coalescing", errno);
            cache.NoCoalesce = true;
            return null;
        }

        uint At(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(offset));
        return string.Create(CultureInfo.InvariantCulture,
            $"rx-usecs {At(4)}, rx-frames {At(8)}, tx-usecs {At(20)}, tx-frames {At(24)}, adaptive rx {OnOff(At(40))} tx {OnOff(At(44))}");
    }

    /// <summary><c>ethtool -k</c>'s usual suspects: "tso on, gso on, gro off, sg on, rx-csum on, tx-csum on".</summary>
    private string? Offload(string device, DeviceCache cache)
    {
        var parts = new List<string>(Offloads.Length);
        var value = new byte[8];
        foreach (var (command, name) in Offloads)
        {
            // struct ethtool_value { u32 cmd; u32 data; }
            BinaryPrimitives.WriteUInt32LittleEndian(value, command);
            BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(4), 0);
            if (Call(device, value, out var errno))
            {
                parts.Add($"{name} {OnOff(BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(4)))}");
            }
            else if (errno != Eopnotsupp)
            {
                Unreadable(device, cache, "offloads", errno);
                cache.NoOffload = true;
                return null;
            }
        }

        cache.NoOffload = parts.Count == 0;
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    private static string OnOff(uint value) => value == 0 ? "off" : "on";

    private void Unreadable(string device, DeviceCache cache, string what, int errno)
    {
        if (cache.Logged.Add(what))
        {
            HostEvidenceLog.EthtoolUnreadable(_logger, what, device, errno);
        }
    }

    /// <summary>One SIOCETHTOOL call: <paramref name="data"/> is the command struct, filled in by the kernel.</summary>
    private bool Call(string device, byte[] data, out int errno)
    {
        Span<byte> ifreq = stackalloc byte[IfreqLength];
        ifreq.Clear();
        var length = Encoding.ASCII.GetBytes(device.AsSpan(0, Math.Min(device.Length, IfNameLength - 1)), ifreq);
        ifreq[length] = 0;
        fixed (byte* request = ifreq)
        fixed (byte* payload = data)
        {
            *(byte**)(request + IfNameLength) = payload;
            if (ioctl(_fd, SiocEthtool, request) < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return false;
            }
        }

        errno = 0;
        return true;
    }

    /// <summary>What is known of one device: its counter names, which of them count loss, its last settings.</summary>
    private sealed class DeviceCache(int ifIndex)
    {
        public int IfIndex { get; } = ifIndex;

        public string[]? StatNames { get; set; }

        public int[] LossIndexes { get; set; } = [];

        public bool NoStats { get; set; }

        public bool NoCoalesce { get; set; }

        public bool NoOffload { get; set; }

        public long? SettingsReadNs { get; set; }

        public string? Coalesce { get; set; }

        public string? Offload { get; set; }

        public HashSet<string> Logged { get; } = [];
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nint request, byte* data);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
