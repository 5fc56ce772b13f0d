using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Correlator;

[TestFixture]
[CancelAfter(120_000)]
public sealed class CorrelatorRobustnessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Server_GarbageBytesOnPort_StaysUsable()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var uri = new Uri(correlator.Address);
        var garbage = new byte[64 * 1024];
        new Random(42).NextBytes(garbage);

        foreach (var payload in new[] { garbage, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray().Concat(garbage).ToArray() })
        {
            using var client = new TcpClient();
            await client.ConnectAsync(uri.Host, uri.Port).WaitAsync(Timeout);
            var stream = client.GetStream();
            try
            {
                await stream.WriteAsync(payload).AsTask().WaitAsync(Timeout);
                var buffer = new byte[4096];
                // The server closes the connection on a protocol error; read until it does.
                while (await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout) > 0)
                {
                }
            }
            catch (IOException)
            {
                // A reset instead of a clean close is just as fine.
            }
        }

        var agents = await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), deadline: DateTime.UtcNow.Add(Timeout));
        Assert.That(agents.Engine, Is.Not.Null, "a gRPC call after the garbage still succeeds");
    }

    [Test]
    public async Task GetProbe_UnknownId_FailsWithNotFound()
    {
        await using var correlator = await TestCorrelator.StartAsync();

        var error = Assert.ThrowsAsync<RpcException>(async () =>
            await correlator.Query.GetProbeAsync(new GetProbeRequest { Id = 4242 }, deadline: DateTime.UtcNow.Add(Timeout)));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Is.EqualTo("no probe with id 4242 is stored"));
    }

    [Test]
    public async Task GetProbe_LookupWithoutMatch_FailsWithNotFoundNamingIt()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var request = new GetProbeRequest
        {
            Lookup = new ProbeLookup { Path = new PathFilter { Src = "10.0.0.1", Dst = "10.0.0.2" }, IcmpSeq = 7, IcmpId = -1 },
        };

        var error = Assert.ThrowsAsync<RpcException>(async () =>
            await correlator.Query.GetProbeAsync(request, deadline: DateTime.UtcNow.Add(Timeout)));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Is.EqualTo("no probe 10.0.0.1 > 10.0.0.2 seq 7 (any id) is stored"));
    }

    [TestCase("not-an-ip", "time", "path.src 'not-an-ip' is not an IP address")]
    [TestCase("192.168.47.111", "size", "order must be 'time' or 'rtt', got 'size'")]
    public async Task ListProbes_BadRequest_FailsWithInvalidArgument(string src, string order, string expected)
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var request = new ListProbesRequest { Path = new PathFilter { Src = src }, Order = order };

        var error = Assert.ThrowsAsync<RpcException>(async () =>
            await correlator.Query.ListProbesAsync(request, deadline: DateTime.UtcNow.Add(Timeout)));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(error.Status.Detail, Is.EqualTo(expected));
    }

    [Test]
    public async Task Watch_SlowProbeStored_IsStreamedWithItsId()
    {
        await using var correlator = await TestCorrelator.StartAsync();

        // Alerting and metrics subscribe too: count the Watch call on top of them.
        var internalSubscribers = correlator.Services.GetRequiredService<StoredProbeBus>().Subscribers;
        using var watch = correlator.Query.Watch(
            new WatchRequest { Path = new PathFilter { Src = Report003.Src }, MinRttNs = 20_000_000 },
            deadline: DateTime.UtcNow.AddSeconds(30));
        // The subscription exists once the server has the call; wait for it before sending.
        await TestCorrelator.EventuallyAsync(
            _ => Task.FromResult(correlator.Services.GetRequiredService<StoredProbeBus>().Subscribers),
            n => n == internalSubscribers + 1,
            "the watch subscription");

        await Report003.SendAllAsync(correlator);

        Assert.That(await watch.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout), Is.True);
        Assert.That(watch.ResponseStream.Current.Id, Is.GreaterThan(0));
        Assert.That(watch.ResponseStream.Current.Verdict.Kind, Is.EqualTo("fabric"));
    }

    [Test]
    public async Task Exe_BadConfig_ExitsTwoWithOneLineNamingTheKey()
    {
        var dll = CorrelatorExe();
        var directory = Directory.CreateTempSubdirectory("hopcapture-exe-");
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in (string[])[dll, "--listen", "127.0.0.1:0", "--Correlator:Plaintext=true", "--db", Path.Combine(directory.FullName, "x.db"), "--Correlator:Engine:MaxInFlight=0"])
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            var errorLines = (await stderr.WaitAsync(Timeout)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Multiple(async () =>
            {
                Assert.That(process.ExitCode, Is.EqualTo(2));
                Assert.That(errorLines, Has.Length.EqualTo(1), "exactly one line on stderr, no stack trace");
                Assert.That(errorLines[0], Does.StartWith("correlator: Correlator:Engine:MaxInFlight: "));
                Assert.That(await stdout.WaitAsync(Timeout), Is.Empty);
            });
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The built exe: copied next to the tests by the project reference, else in src/Correlator/bin.</summary>
    private static string CorrelatorExe()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "hopcapture-correlator.dll");
        if (File.Exists(local) && File.Exists(Path.ChangeExtension(local, ".runtimeconfig.json")))
        {
            return local;
        }

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Capture.sln")))
        {
            dir = dir.Parent;
        }

        Assert.That(dir, Is.Not.Null, "repository root (Capture.sln) not found above " + AppContext.BaseDirectory);
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(dir!.FullName, "src", "Correlator", "bin", configuration, "net10.0", "hopcapture-correlator.dll");
        Assert.That(File.Exists(path), Is.True, "build the correlator first: " + path);
        return path;
    }
}
