using System.Xml;
using System.Xml.Linq;
using HopCapture.Engine.Model;

namespace HopCapture.Agent.Discovery;

/// <summary>
/// A libvirt host: libvirtd keeps each running domain's live XML in /run/libvirt/qemu/&lt;name&gt;.xml
/// (a <c>&lt;domstatus&gt;</c> wrapping the <c>&lt;domain&gt;</c>), with the tap each NIC got in
/// <c>&lt;target dev=…/&gt;</c>. The target can be any name (vnet0, or field report 003's 023471), so it
/// is the XML, not a naming pattern, that says which links are vifs.
/// </summary>
internal static class LibvirtDiscovery
{
    public static bool IsLibvirt(string root)
    {
        var directory = Path.Combine(root, "run/libvirt/qemu");
        try
        {
            return Directory.Exists(directory) && Directory.EnumerateFiles(directory, "*.xml").Any();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static IEnumerable<DiscoveredInterface> Vifs(string root, IReadOnlyList<SysLink> links, List<string> warnings)
    {
        var directory = Path.Combine(root, "run/libvirt/qemu");
        var present = links.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        var result = new List<DiscoveredInterface>();
        string[] files;
        try
        {
            files = Directory.GetFiles(directory, "*.xml");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warnings.Add($"{directory}: cannot list ({ex.Message})");
            return result;
        }

        Array.Sort(files, StringComparer.Ordinal);
        foreach (var file in files)
        {
            XDocument document;
            try
            {
                using var stream = File.OpenRead(file);
                document = XDocument.Load(stream, LoadOptions.None);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or XmlException)
            {
                warnings.Add($"{file}: cannot read the domain XML ({ex.Message.ReplaceLineEndings(" ")})");
                continue;
            }

            var domain = document.Root?.Name.LocalName == "domain" ? document.Root : document.Root?.Element("domain");
            if (domain is null)
            {
                warnings.Add($"{file}: no <domain> element");
                continue;
            }

            var name = domain.Element("name")?.Value.Trim();
            var uuid = domain.Element("uuid")?.Value.Trim();
            var interfaces = domain.Element("devices")?.Elements("interface").ToList() ?? [];
            for (var nic = 0; nic < interfaces.Count; nic++)
            {
                var element = interfaces[nic];
                var mac = element.Element("mac")?.Attribute("address")?.Value.Trim().ToLowerInvariant();
                var target = element.Element("target")?.Attribute("dev")?.Value.Trim();
                if (string.IsNullOrEmpty(target))
                {
                    warnings.Add($"{file}: domain {name ?? "?"} interface {nic} ({mac ?? "no mac"}) has no <target dev=…>; not captured");
                    continue;
                }

                if (!present.Contains(target))
                {
                    continue; // the domain is stopping, or its XML is stale
                }

                var source = element.Element("source");
                var detail = string.Join(' ', new[]
                {
                    element.Element("model")?.Attribute("type")?.Value,
                    source?.Attribute("bridge")?.Value ?? source?.Attribute("network")?.Value ?? source?.Attribute("dev")?.Value,
                }.OfType<string>());
                result.Add(new DiscoveredInterface(target, PointRole.Vif, target, "libvirt", uuid, name, nic, mac, detail.Length == 0 ? null : detail));
            }
        }

        return result;
    }
}
