namespace HopCapture.Tests.Agent;

internal static class Poll
{
    /// <summary>Waits for <paramref name="condition"/> with a deadline instead of sleeping a fixed time.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            }

            await Task.Delay(20);
        }
    }
}
