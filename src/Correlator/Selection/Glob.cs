using System.Text;
using System.Text.RegularExpressions;

namespace HopCapture.Correlator.Selection;

/// <summary>
/// Shell-style patterns ('*' any run, '?' one character) for node names and addresses in alert
/// rules and probe plans. Case-insensitive: node names are host names.
/// </summary>
public sealed class Glob
{
    private readonly Regex? _regex;

    public Glob(string? pattern)
    {
        Pattern = string.IsNullOrWhiteSpace(pattern) ? "*" : pattern.Trim();
        if (Pattern != "*")
        {
            var text = new StringBuilder("^");
            foreach (var c in Pattern)
            {
                text.Append(c switch
                {
                    '*' => ".*",
                    '?' => ".",
                    _ => Regex.Escape(c.ToString()),
                });
            }

            _regex = new Regex(text.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
    }

    public string Pattern { get; }

    public bool MatchesAll => _regex is null;

    public bool IsMatch(string? text) => _regex is null || (text is not null && _regex.IsMatch(text));

    public override string ToString() => Pattern;
}
