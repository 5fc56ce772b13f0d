using System.Net;
using Grpc.Core;
using HopCapture.Correlator.Probing;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;

namespace HopCapture.Tests.Probing;

/// <summary>`capture trace` cannot point agents at arbitrary hosts, nor flood from one node (issue 11).</summary>
public sealed class TraceGuardTests
{
    private static readonly AgentInfo Hv1 = new()
    {
        Node = "hv1",
        Interfaces = { new InterfaceInfo { Name = "vmbr0", Role = Role.Bridge, Addresses = { "10.77.0.1" } } },
    };

    private static ProbingOptions Options(params string[] allow) => new()
    {
        TraceAllow = allow,
        Plans = [new ProbePlanOptions { Name = "storage", From = ["hv1"], To = ["10.77.0.3"] }],
    };

    [TestCase("127.0.0.1", null)]
    [TestCase("10.77.0.1", null)]     // a monitored node's own address
    [TestCase("10.77.0.3", null)]     // a plan's target
    [TestCase("192.0.2.9", "192.0.2.9")]
    [TestCase("8.8.8.8", "8.8.8.8")]
    public void Refusal_ByDefault_OnlyWhatHopCaptureWatches(string target, string? refusedNaming)
    {
        var refusal = TraceGuard.Refusal(IPAddress.Parse(target), Options(), [Hv1]);

        if (refusedNaming is null)
        {
            Assert.That(refusal, Is.Null);
        }
        else
        {
            Assert.That(refusal, Does.Contain(refusedNaming).And.Contain("Correlator:Probing:TraceAllow"));
        }
    }

    [TestCase("192.0.2.9", "192.0.2.9")]
    [TestCase("192.0.2.9", "192.0.2.0/24")]
    [TestCase("fd00::9", "fd00::/8")]
    public void Refusal_AllowListedAddressOrNetwork_Allowed(string target, string allow)
    {
        Assert.That(TraceGuard.Refusal(IPAddress.Parse(target), Options(allow), [Hv1]), Is.Null);
    }

    [Test]
    public void TryReserve_BeyondRateOrConcurrency_RefusedUntilALeaseEnds()
    {
        var guard = new TraceGuard();
        var options = new ProbingOptions { TraceMaxRate = 150, TraceMaxConcurrent = 2 };

        using var first = guard.TryReserve("vm1", 100, options, out _);
        var second = guard.TryReserve("vm1", 100, options, out var overRate);
        using var small = guard.TryReserve("vm1", 10, options, out _);
        var third = guard.TryReserve("vm1", 1, options, out var overCount);
        using var otherNode = guard.TryReserve("vm2", 100, options, out _);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Not.Null);
            Assert.That(second, Is.Null);
            Assert.That(overRate, Does.Contain("budget of 150 probes/s").And.Contain("TraceMaxRate"));
            Assert.That(small, Is.Not.Null);
            Assert.That(third, Is.Null);
            Assert.That(overCount, Does.Contain("already runs 2 traces").And.Contain("TraceMaxConcurrent"));
            Assert.That(otherNode, Is.Not.Null, "the budget is per node");
        });

        small!.Dispose();
        using var again = guard.TryReserve("vm1", 1, options, out _);
        Assert.That(again, Is.Not.Null, "room again once a trace ended");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Trace_TargetOutsideTheCluster_PermissionDeniedBeforeAnyAgentIsAsked(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(cancellationToken: cancellationToken);

        using var call = correlator.Query.Trace(new TraceRunRequest { From = "vm1", To = "192.0.2.9", Count = 100000, IntervalNs = 10_000_000 }, cancellationToken: cancellationToken);
        var error = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(cancellationToken));

        Assert.Multiple(() =>
        {
            Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(error.Status.Detail, Does.StartWith("trace target 192.0.2.9 is neither a monitored node's address nor a plan target"));
        });
    }
}
