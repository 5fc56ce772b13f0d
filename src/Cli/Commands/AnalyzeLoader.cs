using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using Grpc.Net.Client;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Model;
using HopCapture.IngestClient;
using HopCapture.Protos;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Cli.Commands;

/// <summary>
/// <c>capture analyze --load URL</c>: each node of the files gets one <see cref="IngestSession"/>
/// (Hello with its interfaces, batches stamped <c>imported</c>, acks awaited at the end), the
/// agent's protocol from the one implementation. The analysis calls <see cref="Add"/> on its own
/// thread; sealed batches wait in a per-node window of <see cref="Window"/> un-acked batches, so
/// the correlator's acks are the back-pressure and a reconnect re-sends what was not acked. A
/// refusal is not retried; a correlator that stays away fails the load after a few attempts.
/// The first failure of any node wins and stops the others and the analysis.
/// </summary>
public sealed class AnalyzeLoader : IObservationSink, IAsyncDisposable
{
    public const int BatchSize = 1000;

    /// <summary>Un-acked batches per node before <see cref="Add"/> waits.</summary>
    public const int Window = 64;

    /// <summary>A one-shot load gives up on a correlator that stays away (about 4 s of backoff), unlike an agent.</summary>
    public static readonly IngestSessionOptions SessionOptions = new() { MaxRetryAttempts = 3 };

    private readonly GrpcChannel _channel;
    private readonly Ingest.IngestClient _client;
    private readonly IngestSessionOptions _sessionOptions;
    private readonly Dictionary<int, (NodeUpload Node, uint HelloIndex)> _byIface = [];
    private readonly List<NodeUpload> _nodes = [];
    private readonly List<InterfaceEntry> _pending = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<Exception> _failure = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AnalyzeLoader(string address, IngestSessionOptions? sessionOptions = null, CorrelatorCredentials? credentials = null)
    {
        Address = address;
        _sessionOptions = sessionOptions ?? SessionOptions;
        _channel = IngestChannels.Create(address, credentials);
        _client = new Ingest.IngestClient(_channel);
    }

    public string Address { get; }

    public void InterfaceAdded(InterfaceEntry iface)
    {
        ArgumentNullException.ThrowIfNull(iface);
        _pending.Add(iface);
    }

    public void Add(in Observation observation, uint wireLength, ushort vlan)
    {
        if (_pending.Count > 0)
        {
            OpenPending();
        }

        var (node, index) = _byIface[observation.Iface];
        node.Current.Add(observation, (int)index);
        if (node.Current.Count >= BatchSize)
        {
            ThrowIfFailed();
            try
            {
                // The analysis loop is synchronous: waiting for room in the window (a semaphore, not
                // the session's task) is the back-pressure of the correlator.
                node.Batches.Seal(node.TakeCurrent(), _stop.Token);
            }
            catch (OperationCanceledException) when (_failure.Task.IsCompleted)
            {
                ThrowIfFailed();
            }

            node.Session.Wake();
        }
    }

    /// <summary>Sends what is left, waits for every ack, ends the streams; throws the first failure.</summary>
    public async Task<AnalyzeLoad> CompleteAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var node in _nodes)
            {
                if (node.Current.Count > 0)
                {
                    await node.Batches.SealAsync(node.TakeCurrent(), _stop.Token).WaitAsync(cancellationToken);
                }

                node.Batches.Complete();
                node.Session.Wake();
            }

            await Task.WhenAll(_nodes.Select(static n => n.Run)).WaitAsync(cancellationToken);
        }
        catch when (_failure.Task.IsCompleted)
        {
            ThrowIfFailed();
        }

        var load = new AnalyzeLoad { Correlator = Address };
        foreach (var node in _nodes)
        {
            load.Observations += node.Observations;
            load.Batches += node.Batches.Sealed;
            load.Accepted += node.Accepted;
            load.Rejected += node.Rejected;
            if (load.FirstRejectReason.Length == 0)
            {
                load.FirstRejectReason = node.FirstRejectReason;
            }
        }

        return load;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_nodes.Select(static n => n.Run)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var node in _nodes)
        {
            node.Batches.Dispose();
        }

        _stop.Dispose();
        _channel.Dispose();
    }

    private void ThrowIfFailed()
    {
        if (_failure.Task.IsCompleted)
        {
            ExceptionDispatchInfo.Throw(_failure.Task.Result);
        }
    }

    /// <summary>
    /// New interfaces become one new session per node (a Hello lists its interfaces once); a pcapng
    /// interface described mid-file therefore opens a second session for its node.
    /// </summary>
    private void OpenPending()
    {
        foreach (var group in _pending.GroupBy(static i => i.Node, StringComparer.Ordinal))
        {
            var hello = new Hello
            {
                Node = group.Key,
                AgentVersion = "capture-analyze",
                InstanceId = Guid.NewGuid().ToString(),
                Hostname = group.Key,
                Clock = new ClockStatus { Source = "import" },
            };
            var node = new NodeUpload();
            foreach (var iface in group)
            {
                _byIface[iface.Id] = (node, (uint)hello.Interfaces.Count);
                hello.Interfaces.Add(new InterfaceInfo { Name = iface.Iface, Role = iface.Role.ToProto(), Point = iface.Point });
            }

            node.Session = new IngestSession(_client, node.Batches, next => new Hello(hello) { NextSeq = next }, _sessionOptions, node);
            node.Run = Task.Run(() => RunNodeAsync(node));
            _nodes.Add(node);
        }

        _pending.Clear();
    }

    private async Task RunNodeAsync(NodeUpload node)
    {
        try
        {
            await node.Session.RunAsync(_stop.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            // The first failure is the one reported; it stops the other nodes and a waiting Add.
            if (_failure.TrySetResult(ex))
            {
                await _stop.CancelAsync();
            }

            throw;
        }
    }

    /// <summary>One node's session, the batch being filled and what its acks said.</summary>
    private sealed class NodeUpload : IIngestSessionObserver
    {
        public BatchWindow Batches { get; } = new(Window);

        public IngestSession Session { get; set; } = null!;

        public Task Run { get; set; } = Task.CompletedTask;

        /// <summary>The batch being filled, packed: no message per observation (the bench's load generator runs through here).</summary>
        public PackedBatchWriter Current { get; } = new(BatchSize);

        public ulong Observations { get; private set; }

        public ulong Accepted { get; private set; }

        public ulong Rejected { get; private set; }

        public string FirstRejectReason { get; private set; } = "";

        public ObservationBatch TakeCurrent()
        {
            Observations += (ulong)Current.Count;
            return new ObservationBatch { Imported = true, Packed = Current.Take() };
        }

        // One stream at a time receives, and the totals are read after the session ended.
        public void Acked(Ack ack)
        {
            Accepted += ack.Accepted;
            Rejected += ack.Rejected;
            if (FirstRejectReason.Length == 0)
            {
                FirstRejectReason = ack.RejectReason;
            }
        }
    }

    /// <summary>Sealed batches until acked, at most <c>window</c> of them; sealing waits for room.</summary>
    private sealed class BatchWindow(int window) : IIngestBatchSource, IDisposable
    {
        private readonly Lock _gate = new();
        private readonly List<ObservationBatch> _unacked = new(window);
        private readonly SemaphoreSlim _room = new(window, window);
        private ulong _nextSeq = 1;
        private volatile bool _completed;

        public ulong Sealed
        {
            get
            {
                lock (_gate)
                {
                    return _nextSeq - 1;
                }
            }
        }

        public ulong FirstSeq
        {
            get
            {
                lock (_gate)
                {
                    return _unacked.Count > 0 ? _unacked[0].Seq : _nextSeq;
                }
            }
        }

        public bool IsEmpty
        {
            get
            {
                lock (_gate)
                {
                    return _unacked.Count == 0;
                }
            }
        }

        public bool IsCompleted => _completed;

        public void Complete() => _completed = true;

        public void Seal(ObservationBatch batch, CancellationToken cancellationToken)
        {
            _room.Wait(cancellationToken);
            Append(batch);
        }

        public async Task SealAsync(ObservationBatch batch, CancellationToken cancellationToken)
        {
            await _room.WaitAsync(cancellationToken);
            Append(batch);
        }

        public bool TryGetAfter(ulong seq, [MaybeNullWhen(false)] out ObservationBatch batch)
        {
            lock (_gate)
            {
                if (_unacked.Count > 0)
                {
                    var first = _unacked[0].Seq;
                    var index = seq < first ? 0 : (int)(seq + 1 - first);
                    if (index < _unacked.Count)
                    {
                        batch = _unacked[index];
                        return true;
                    }
                }

                batch = null;
                return false;
            }
        }

        public void AckThrough(ulong seq)
        {
            int acked;
            lock (_gate)
            {
                acked = 0;
                while (acked < _unacked.Count && _unacked[acked].Seq <= seq)
                {
                    acked++;
                }

                _unacked.RemoveRange(0, acked);
            }

            if (acked > 0)
            {
                _room.Release(acked);
            }
        }

        public void Dispose() => _room.Dispose();

        private void Append(ObservationBatch batch)
        {
            lock (_gate)
            {
                batch.Seq = _nextSeq++;
                _unacked.Add(batch);
            }
        }
    }
}
