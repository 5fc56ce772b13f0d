namespace HopCapture.Security;

/// <summary>What a node name may look like: a host name, possibly with '_' (VM names often have it).</summary>
public static class NodeNames
{
    public const int MaxLength = 253;

    public static bool IsValid(string? node, out string problem)
    {
        if (string.IsNullOrWhiteSpace(node))
        {
            problem = "is empty";
            return false;
        }

        if (node.Length > MaxLength)
        {
            problem = $"is longer than {MaxLength} characters";
            return false;
        }

        foreach (var c in node)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '@'))
            {
                problem = $"contains '{(char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : c.ToString())}' (allowed: letters, digits, '.', '-', '_', ':', '@')";
                return false;
            }
        }

        problem = "";
        return true;
    }
}
