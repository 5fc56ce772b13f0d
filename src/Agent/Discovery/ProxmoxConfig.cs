using System.Globalization;
using System.Text.RegularExpressions;

namespace HopCapture.Agent.Discovery;

/// <summary>One <c>netN</c> line of a Proxmox guest config.</summary>
internal sealed record ProxmoxNet(int Index, string? Model, string? Mac, string? Bridge, bool Firewall, string? Tag);

/// <summary>
/// The main section of a Proxmox guest config (<c>/etc/pve/qemu-server/&lt;vmid&gt;.conf</c>, or
/// <c>/etc/pve/lxc/&lt;ctid&gt;.conf</c> for containers): <c>key: value</c> lines, <c>#</c> comment lines
/// (the description), and from the first <c>[name]</c> line on snapshot and pending sections, which
/// describe other states of the guest and are ignored. NIC lines, per PVE::QemuServer's netN
/// format: <c>net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1,tag=20</c> (the model key
/// carries the MAC: virtio, e1000, e1000e, vmxnet3, rtl8139, ...; <c>model=virtio,macaddr=…</c> is
/// the long form); containers use <c>net0: name=eth0,bridge=vmbr0,hwaddr=…,type=veth</c>.
/// </summary>
internal sealed partial class ProxmoxConfig
{
    private ProxmoxConfig(string? name, IReadOnlyDictionary<int, ProxmoxNet> nets, string? error)
    {
        Name = name;
        Nets = nets;
        Error = error;
    }

    /// <summary><c>name:</c> for a VM, <c>hostname:</c> for a container.</summary>
    public string? Name { get; }

    public IReadOnlyDictionary<int, ProxmoxNet> Nets { get; }

    /// <summary>The first line that is not of the format, e.g. "line 3: 'garbage' is not 'key: value'"; what was read before it is kept.</summary>
    public string? Error { get; }

    public static ProxmoxConfig Parse(string text)
    {
        string? name = null;
        string? error = null;
        var nets = new Dictionary<int, ProxmoxNet>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line[0] == '[')
            {
                break; // [snapshot], [PENDING], [special:cloudinit]: not the running configuration
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !KeyPattern().IsMatch(line[..colon]))
            {
                error ??= $"line {i + 1}: '{Shorten(line)}' is not 'key: value'";
                continue;
            }

            var key = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (key is "name" or "hostname")
            {
                name = value;
            }
            else if (NetKeyPattern().Match(key) is { Success: true } net)
            {
                var index = int.Parse(net.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture);
                var parsed = ParseNet(index, value);
                if (parsed.Mac is null)
                {
                    error ??= $"line {i + 1}: {key} has no MAC address ('{Shorten(value)}')";
                }

                nets[index] = parsed;
            }
        }

        return new ProxmoxConfig(name, nets, error);
    }

    private static ProxmoxNet ParseNet(int index, string value)
    {
        string? model = null, mac = null, bridge = null, tag = null;
        var firewall = false;
        foreach (var item in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? item : item[..eq];
            var val = eq < 0 ? "" : item[(eq + 1)..];
            switch (key)
            {
                case "bridge":
                    bridge = val;
                    break;
                case "firewall":
                    firewall = val == "1";
                    break;
                case "tag":
                    tag = val;
                    break;
                case "macaddr" or "hwaddr":
                    mac = MacPattern().IsMatch(val) ? val.ToLowerInvariant() : null;
                    break;
                case "model":
                    model = val;
                    break;
                default:
                    // The short form: the model name is the key and the MAC its value.
                    if (model is null && MacPattern().IsMatch(val))
                    {
                        model = key;
                        mac = val.ToLowerInvariant();
                    }

                    break;
            }
        }

        return new ProxmoxNet(index, model, mac, bridge, firewall, tag);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    [GeneratedRegex("^[a-z][a-z0-9_-]*$")]
    private static partial Regex KeyPattern();

    [GeneratedRegex("^net([0-9]+)$")]
    private static partial Regex NetKeyPattern();

    [GeneratedRegex("^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")]
    private static partial Regex MacPattern();
}
