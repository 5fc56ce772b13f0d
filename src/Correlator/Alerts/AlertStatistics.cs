namespace HopCapture.Correlator.Alerts;

public enum AlertStatistic
{
    P50,
    P99,
    Max,
    Loss,
    Freezes,
}

public static class AlertStatistics
{
    public const string Allowed = "p50, p99, max, loss, freezes";

    public static bool TryParse(string? text, out AlertStatistic statistic)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "p50" or "median":
                statistic = AlertStatistic.P50;
                return true;
            case "p99":
                statistic = AlertStatistic.P99;
                return true;
            case "max":
                statistic = AlertStatistic.Max;
                return true;
            case "loss" or "loss_rate":
                statistic = AlertStatistic.Loss;
                return true;
            case "freeze" or "freezes":
                statistic = AlertStatistic.Freezes;
                return true;
            default:
                statistic = AlertStatistic.P99;
                return false;
        }
    }

    public static string Name(AlertStatistic statistic) => statistic switch
    {
        AlertStatistic.P50 => "p50",
        AlertStatistic.P99 => "p99",
        AlertStatistic.Max => "max",
        AlertStatistic.Loss => "loss",
        _ => "freezes",
    };

    public static string Unit(AlertStatistic statistic) => statistic switch
    {
        AlertStatistic.Loss => "%",
        AlertStatistic.Freezes => "freezes",
        _ => "ms",
    };
}
