using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Traffic;

/// <summary>Fails start-up with one message per bad key of <see cref="TrafficOptions.Section"/>.</summary>
internal sealed class TrafficOptionsValidator : IValidateOptions<TrafficOptions>
{
    public ValidateOptionsResult Validate(string? name, TrafficOptions options)
    {
        var problems = options.Problems().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
