using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Net.Client;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.IngestClient;
using HopCapture.Protos;
using HopCapture.Tests.Shared;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// Issue 11, delivery: the real correlator process SIGKILLed under load, restarted on the same
/// port, database and journal, while the real ingest client keeps sending. An independent ledger
/// (every probe the test generated, by ICMP id and seq) is checked against the SQLite file after
/// a graceful stop: every probe stored exactly once — none of the acked ones lost (the journal),
/// none stored twice (the persisted batch seqs and the replay dedupe).
/// </summary>
public class CorrelatorCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("hopcapture-crash-").FullName;

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public async Task SigkillUnderLoad_EveryProbeStoredExactlyOnce()
    {
        const int kills = 3;
        var port = LoopbackPorts.Free();
        var database = Path.Combine(_dir, "hopcapture.db");
        var source = new LedgerSource(probesPerBatch: 50);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var session = new IngestSession(
            new Ingest.IngestClient(channel),
            source,
            next => LedgerSource.Hello("crash-a", next),
            new IngestSessionOptions { ShortSession = TimeSpan.FromSeconds(1), WelcomeTimeout = TimeSpan.FromSeconds(5) });

        var correlator = CorrelatorProcess.Start(port, database);
        var logs = new List<CorrelatorProcess>();
        using var stopSending = new CancellationTokenSource();
        var sending = Task.Run(() => SendAsync(source, session, stopSending.Token));
        var run = Task.Run(() => session.RunAsync(CancellationToken.None));
        try
        {
            await correlator.WaitReadyAsync();
            for (var k = 0; k < kills; k++)
            {
                // Load for a while (acks flowing), then the kill, in the middle of whatever it was doing.
                var ackedBefore = source.Acked;
                await WaitUntilAsync(() => source.Acked >= ackedBefore + 40, "acks before kill " + (k + 1));
                correlator.Kill();
                logs.Add(correlator);
                correlator = CorrelatorProcess.Start(port, database);
                await correlator.WaitReadyAsync();
            }

            await WaitUntilAsync(() => source.Acked >= source.Sealed + 20 || source.Sealed > 600, "acks after the last restart");
            await stopSending.CancelAsync();
            await sending;
            source.Complete();
            session.Wake();
            if (await Task.WhenAny(run, Task.Delay(Timeout)) != run)
            {
                Assert.Fail($"the session did not drain: sealed {source.Sealed}, acked {source.Acked}, streams {session.Attempts}, connected {session.Connected}; correlator: {Tail(correlator.Output)}");
            }

            await run;
            await correlator.StopAsync();
            logs.Add(correlator);
        }
        finally
        {
            await stopSending.CancelAsync();
            correlator.Kill();
        }

        var stored = StoredProbes(database);
        var ledger = source.Ledger;
        var missing = ledger.Where(p => !stored.ContainsKey(p)).ToList();
        var twice = stored.Where(p => p.Value > 1).ToList();
        var unknown = stored.Keys.Where(p => !ledger.Contains(p)).ToList();
        var replayed = string.Concat(logs.Select(l => l.Output)).Split('\n').Count(l => l.Contains("journalled batches", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(source.Sealed, Is.GreaterThan(kills * 40), "load ran through every kill");
            Assert.That(missing, Is.Empty, $"probes lost: {missing.Count} of {ledger.Count}, first {string.Join(", ", missing.Take(5))}");
            Assert.That(twice, Is.Empty, $"probes stored twice: {twice.Count}, first {string.Join(", ", twice.Take(5).Select(p => p.Key))}");
            Assert.That(unknown, Is.Empty, "probes nobody sent");
            Assert.That(replayed, Is.GreaterThan(0), "at least one restart replayed journalled batches (the kill caught work in flight)");
        });
    }

    [Test]
    public async Task Sigkill_ResentBatchAfterRestart_IsDroppedNotStoredTwice()
    {
        var port = LoopbackPorts.Free();
        var database = Path.Combine(_dir, "hopcapture.db");
        var correlator = CorrelatorProcess.Start(port, database);
        try
        {
            await correlator.WaitReadyAsync();
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new Ingest.IngestClient(channel);
            var batch = LedgerSource.Batch(seq: 1, firstProbe: 0, probes: 10);
            var welcome = await SendOneAsync(client, batch);
            Assert.That(welcome.ResumeAfterSeq, Is.Zero);

            correlator.Kill();
            correlator = CorrelatorProcess.Start(port, database);
            await correlator.WaitReadyAsync();

            // The agent never saw the ack (say) and sends batch 1 again after the restart.
            var again = await SendOneAsync(client, batch);
            Assert.That(again.ResumeAfterSeq, Is.EqualTo(1UL), "the correlator remembers batch 1 across the kill");
            await correlator.StopAsync();
        }
        finally
        {
            correlator.Kill();
        }

        var stored = StoredProbes(database);
        Assert.That(stored, Has.Count.EqualTo(10));
        Assert.That(stored.Values, Is.All.EqualTo(1));
    }

    private static async Task<Welcome> SendOneAsync(Ingest.IngestClient client, ObservationBatch batch)
    {
        using var call = client.Connect(deadline: DateTime.UtcNow.Add(Timeout));
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = LedgerSource.Hello("crash-a", batch.Seq) });
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None), Is.True);
        var welcome = call.ResponseStream.Current.Welcome;
        await call.RequestStream.WriteAsync(new AgentMessage { Batch = batch });
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None), Is.True);
        Assert.That(call.ResponseStream.Current.Ack.Seq, Is.EqualTo(batch.Seq));
        await call.RequestStream.CompleteAsync();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
        }

        return welcome;
    }

    /// <summary>Seals a batch every 10 ms (5,000 probes/s) until stopped, 2,000 batches at most.</summary>
    private static async Task SendAsync(LedgerSource source, IngestSession session, CancellationToken cancellationToken)
    {
        while (source.Sealed < 2000 && !cancellationToken.IsCancellationRequested)
        {
            // Back-pressure like the agent's spool gives: at most 200 batches un-acked.
            if (source.Sealed - source.Acked < 200)
            {
                source.Seal();
                session.Wake();
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            Assert.That(cts.IsCancellationRequested, Is.False, "timed out waiting for " + what);
            await Task.Delay(20);
        }
    }

    /// <summary>(icmp id, icmp seq) → rows in the probes table.</summary>
    private static Dictionary<(int Id, int Seq), int> StoredProbes(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT icmp_id, icmp_seq, count(*) FROM " + ProbePartitions.AllRows(connection) + " GROUP BY icmp_id, icmp_seq";
        using var reader = command.ExecuteReader();
        var stored = new Dictionary<(int, int), int>();
        while (reader.Read())
        {
            stored[(reader.GetInt32(0), reader.GetInt32(1))] = reader.GetInt32(2);
        }

        return stored;
    }

    private static string Tail(string output) => string.Join('\n', output.Split('\n').TakeLast(15));

    /// <summary>
    /// The test's own agent: whole probes (request and reply at a guest and a NIC interface) in
    /// every batch, each probe a distinct (icmp id, seq), remembered in the ledger when sealed.
    /// </summary>
    private sealed class LedgerSource(int probesPerBatch) : IIngestBatchSource
    {
        private static readonly ByteString Src = ByteString.CopyFrom(IPAddress.Parse("10.9.0.1").GetAddressBytes());
        private static readonly ByteString Dst = ByteString.CopyFrom(IPAddress.Parse("10.9.0.2").GetAddressBytes());
        private static readonly long Start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

        private readonly ListBatchSource _batches = new();
        private readonly HashSet<(int, int)> _ledger = [];

        public ulong FirstSeq => _batches.FirstSeq;

        public bool IsEmpty => _batches.IsEmpty;

        public bool IsCompleted => _batches.IsCompleted;

        public long Sealed => _batches.Sealed;

        public long Acked => _batches.Acked;

        public HashSet<(int Id, int Seq)> Ledger
        {
            get
            {
                lock (_ledger)
                {
                    return [.. _ledger];
                }
            }
        }

        public static Hello Hello(string node, ulong nextSeq)
        {
            var hello = new Hello { Node = node, InstanceId = node + "-stable", AgentVersion = "test", NextSeq = nextSeq, Clock = new ClockStatus() };
            hello.Interfaces.Add(new InterfaceInfo { Name = "eth0", Role = Role.Guest, Point = "eth0" });
            hello.Interfaces.Add(new InterfaceInfo { Name = "eno1", Role = Role.Nic, Point = "eno1" });
            return hello;
        }

        /// <summary>Batch <paramref name="seq"/> with probes firstProbe.. (id = 1000 + probe / 60000, seq = probe % 60000).</summary>
        public static ObservationBatch Batch(ulong seq, int firstProbe, int probes)
        {
            var batch = new ObservationBatch { Seq = seq };
            for (var p = firstProbe; p < firstProbe + probes; p++)
            {
                var (id, icmpSeq) = Key(p);
                var t = Start + (p * 200_000L);
                batch.Observations.Add(Observation(0, t, EchoType.Request, id, icmpSeq));
                batch.Observations.Add(Observation(1, t + 20_000, EchoType.Request, id, icmpSeq));
                batch.Observations.Add(Observation(1, t + 100_000, EchoType.Reply, id, icmpSeq));
                batch.Observations.Add(Observation(0, t + 120_000, EchoType.Reply, id, icmpSeq));
            }

            return batch;
        }

        public void Seal() => _batches.Seal(seq =>
        {
            var first = (int)(seq - 1) * probesPerBatch;
            lock (_ledger)
            {
                for (var p = first; p < first + probesPerBatch; p++)
                {
                    _ledger.Add(Key(p));
                }
            }

            return Batch(seq, first, probesPerBatch);
        });

        public void Complete() => _batches.Complete();

        public bool TryGetAfter(ulong seq, [MaybeNullWhen(false)] out ObservationBatch batch) => _batches.TryGetAfter(seq, out batch);

        public void AckThrough(ulong seq) => _batches.AckThrough(seq);

        private static (int Id, int Seq) Key(int probe) => (1000 + (probe / 60000), probe % 60000);

        private static Observation Observation(uint iface, long ts, EchoType type, int id, int seq) => new()
        {
            Iface = iface,
            TsNs = ts,
            Src = type == EchoType.Request ? Src : Dst,
            Dst = type == EchoType.Request ? Dst : Src,
            IcmpId = (uint)id,
            IcmpSeq = (uint)seq,
            PayloadHash = (uint)(id * 65536 + seq),
            Type = type,
        };
    }

    /// <summary>The correlator executable as a child process, killable with SIGKILL.</summary>
    private sealed class CorrelatorProcess
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly int _port;

        private CorrelatorProcess(Process process, int port)
        {
            _process = process;
            _port = port;
        }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static CorrelatorProcess Start(int port, string database)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            string[] args =
            [
                RepoPaths.Executable("Correlator", "hopcapture-correlator"), "--listen", $"127.0.0.1:{port}", "--db", database,
                "--Correlator:Engine:ProbeTimeout=00:00:01", "--Correlator:Engine:Settle=00:00:00.200", "--Correlator:Journal:Sync=kernel",
                "--Correlator:Plaintext=true",
            ];
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            var correlator = new CorrelatorProcess(process, port);
            process.OutputDataReceived += (_, e) => correlator.Append(e.Data);
            process.ErrorDataReceived += (_, e) => correlator.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return correlator;
        }

        public async Task WaitReadyAsync()
        {
            using var cts = new CancellationTokenSource(Timeout);
            while (true)
            {
                Assert.That(_process.HasExited, Is.False, "the correlator exited: " + Output);
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, _port, cts.Token);
                    return;
                }
                catch (SocketException)
                {
                    await Task.Delay(50, cts.Token);
                }
            }
        }

        /// <summary>SIGKILL: no shutdown, no flush.</summary>
        public void Kill()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }

        /// <summary>SIGTERM: the graceful stop systemd does.</summary>
        public async Task StopAsync()
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await _process.WaitForExitAsync().WaitAsync(Timeout);
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
