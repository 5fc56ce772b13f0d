using Google.Protobuf;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Tests.Cli;

public class JsonOutputTests
{
    [Test]
    public void Format_ExplainRecord_ParsesBackToTheSameMessage()
    {
        var probe = Seed003.Probe();

        var json = JsonOutput.Format(probe);

        Assert.That(JsonParser.Default.Parse<ProbeRecord>(json), Is.EqualTo(probe));
        Assert.That(json, Does.Not.Contain('\n'), "one object per line for watch");
        Assert.That(json, Does.Contain("\"rttNs\": \"120554000\""), "int64 as JSON strings");
        Assert.That(json, Does.Contain("\"imported\": false"), "default values are written");
    }

    [Test]
    public void Format_ListResponses_ParseBack()
    {
        var probes = new ListProbesResponse { Matched = 2 };
        probes.Probes.Add(Seed003.Probe());
        probes.Probes.Add(Seed003.ReplyLostInFabric());
        var paths = new ListPathsResponse();
        paths.Paths.Add(new PathSummary { Src = "10.77.0.1", Dst = "10.77.0.2", Probes = 3, WorstProbeId = 9 });

        Assert.That(JsonParser.Default.Parse<ListProbesResponse>(JsonOutput.Format(probes)), Is.EqualTo(probes));
        Assert.That(JsonParser.Default.Parse<ListPathsResponse>(JsonOutput.Format(paths)), Is.EqualTo(paths));
    }
}
