using System.Collections.Concurrent;
using System.Diagnostics;
using HopCapture.Analysis.Driver;
using HopCapture.Analysis.Probes;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Model;
using HopCapture.Packets.Files;
using HopCapture.Protos;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Cli.Commands;

/// <summary>Where an analysed observation goes besides the engine (analyze --load).</summary>
public interface IObservationSink
{
    /// <summary>Called before the first observation and whenever a file reveals a new interface.</summary>
    void InterfaceAdded(InterfaceEntry iface);

    void Add(in Observation observation, uint wireLength, ushort vlan);
}

/// <summary>Progress of a run: bytes of all files consumed, their total, observations so far.</summary>
public readonly record struct AnalyzeProgress(long BytesRead, long BytesTotal, long Observations, long Probes);

/// <summary>
/// Offline analysis: a time-ordered k-way merge of capture files (capture time as arrival time)
/// through the correlator's own engine and record mapping, into <see cref="IAnalyzeView"/>s.
/// Streams: each file is read a few chunks ahead, the engine holds the in-flight window, the
/// views keep what they show.
/// <para>
/// Three stages, so the engine's thread does nothing but merge and correlate: each file is decoded
/// on its own thread (<see cref="Source"/>), and finalised probes are fed to the views on another
/// (<see cref="Publisher"/>), which build records only for the probes they keep. Every hand-off
/// is a bounded FIFO, so the result is the same as one thread would give, ids included.
/// </para>
/// </summary>
public sealed class AnalyzeSession : IDisposable
{
    private readonly List<Source> _sources = [];
    private readonly IReadOnlyList<IAnalyzeView> _views;
    private readonly CancellationTokenSource _abort = new();
    private List<Probe> _finalized = [];
    private Publisher? _publisher;

    public AnalyzeSession(IReadOnlyList<AnalyzeInput> inputs, EngineOptions options, IReadOnlyList<IAnalyzeView> views)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(views);
        Catalog = new InterfaceCatalog();
        Driver = new EngineDriver(options, Catalog);
        _views = views;
        try
        {
            foreach (var input in inputs)
            {
                _sources.Add(new Source(input, CaptureFileReader.Open(input.Path), Catalog));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public InterfaceCatalog Catalog { get; }

    /// <summary>The correlator's own engine driver: capture time as arrival time.</summary>
    public EngineDriver Driver { get; }

    public CorrelationEngine Engine => Driver.Engine;

    public long Observations { get; private set; }

    public long Probes => _publisher?.Published ?? 0;

    /// <summary>Runs to the end of every file and returns the report the views filled in.</summary>
    public AnalyzeReport Run(IObservationSink? sink = null, Action<AnalyzeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var cancelled = cancellationToken.Register(static abort => ((CancellationTokenSource)abort!).Cancel(), _abort);
        _publisher = new Publisher(_views, _abort);
        foreach (var source in _sources)
        {
            source.Start(_abort.Token);
        }

        try
        {
            Merge(sink, progress);
            _publisher.Complete();
        }
        catch (OperationCanceledException) when (_publisher.Failure is not null)
        {
            // A view threw on the publisher's thread, which stopped this one: that is the error.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_publisher.Failure);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        var report = new AnalyzeReport { Engine = Stats() };
        foreach (var source in _sources)
        {
            report.Files.Add(source.Describe());
        }

        foreach (var view in _views)
        {
            view.Complete(report);
        }

        return report;
    }

    private void Merge(IObservationSink? sink, Action<AnalyzeProgress>? progress)
    {
        var heads = new PriorityQueue<int, long>(_sources.Count);
        for (var i = 0; i < _sources.Count; i++)
        {
            if (_sources[i].MoveNext())
            {
                heads.Enqueue(i, _sources[i].Head.TimestampNs);
            }
        }

        // Interfaces described before the first packet of each file are all known now: register
        // them together so a load stream's Hello lists a node's interfaces at once.
        foreach (var source in _sources)
        {
            source.RegisterDescribed();
        }

        var announced = 0;
        Announce(sink, ref announced);

        var progressClock = Stopwatch.StartNew();
        var lastTs = 0L;
        while (heads.TryDequeue(out var index, out var ts))
        {
            var source = _sources[index];
            ref readonly var observation = ref source.Head;
            Driver.Add(observation, ts);
            if (sink is not null)
            {
                if (Catalog.InterfaceCount != announced)
                {
                    Announce(sink, ref announced);
                }

                sink.Add(observation, source.WireLength, source.Vlan);
            }

            Observations++;
            lastTs = ts;
            if (Driver.Due(ts))
            {
                Driver.Advance(ts, _finalized);
                Publish();
            }

            if (source.MoveNext())
            {
                heads.Enqueue(index, source.Head.TimestampNs);
            }

            if ((Observations & 0xFFFF) == 0)
            {
                _abort.Token.ThrowIfCancellationRequested();
                if (progress is not null && progressClock.ElapsedMilliseconds >= 500)
                {
                    progress(Progress());
                    progressClock.Restart();
                }
            }
        }

        Driver.Advance(lastTs, _finalized);
        Driver.Flush(_finalized);
        Publish();
        progress?.Invoke(Progress());
    }

    public void Dispose()
    {
        // Stops the decoders (they may be waiting for room) before their files are closed.
        _abort.Cancel();
        _publisher?.Complete(drain: false);
        _publisher?.Dispose();
        foreach (var source in _sources)
        {
            source.Dispose();
        }

        _abort.Dispose();
    }

    private void Announce(IObservationSink? sink, ref int announced)
    {
        for (; announced < Catalog.InterfaceCount; announced++)
        {
            sink?.InterfaceAdded(Catalog.Interface(announced));
        }
    }

    private void Publish()
    {
        if (_finalized.Count > 0)
        {
            _finalized = _publisher!.Post(_finalized);
        }
    }

    private AnalyzeProgress Progress()
    {
        long read = 0, total = 0;
        foreach (var source in _sources)
        {
            read += source.Reader.Position;
            total += source.Reader.Length;
        }

        return new AnalyzeProgress(read, total, Observations, Probes);
    }

    private EngineStats Stats()
    {
        var counters = Engine.Counters;
        return new EngineStats
        {
            Observations = (ulong)counters.Observations,
            ProbesFinalized = (ulong)counters.Finalized,
            InFlight = (ulong)Engine.InFlight,
            InFlightCap = (ulong)Engine.Options.MaxInFlight,
            Evicted = (ulong)counters.Evicted,
            Late = (ulong)counters.Late,
            Duplicates = (ulong)counters.Duplicates,
        };
    }

    /// <summary>
    /// Feeds finalised probes to the views, on its own thread, in the order the engine finalised
    /// them (ids are numbered here). Lists go back to the engine's thread for reuse.
    /// </summary>
    private sealed class Publisher : IDisposable
    {
        private const int Queued = 8;

        private readonly BlockingCollection<List<Probe>> _queue = new(Queued);
        private readonly ConcurrentQueue<List<Probe>> _spare = new();
        private readonly IReadOnlyList<IAnalyzeView> _views;
        private readonly CancellationTokenSource _abort;
        private readonly Task _task;
        private long _published;

        public Publisher(IReadOnlyList<IAnalyzeView> views, CancellationTokenSource abort)
        {
            _views = views;
            _abort = abort;
            _task = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public long Published => Interlocked.Read(ref _published);

        public Exception? Failure { get; private set; }

        /// <summary>Queues <paramref name="finalized"/> (waits while the views are behind) and returns an empty list to fill next.</summary>
        public List<Probe> Post(List<Probe> finalized)
        {
            _queue.Add(finalized, _abort.Token);
            return _spare.TryDequeue(out var list) ? list : [];
        }

        /// <summary>No more probes: waits until the views have seen every one (or, with <paramref name="drain"/> false, just stops).</summary>
        public void Complete(bool drain = true)
        {
            _queue.CompleteAdding();
            if (drain)
            {
                _task.GetAwaiter().GetResult();
                if (Failure is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(Failure);
                }
            }
            else
            {
                _task.Wait(TimeSpan.FromSeconds(10));
            }
        }

        public void Dispose() => _queue.Dispose();

        private void Run()
        {
            try
            {
                foreach (var finalized in _queue.GetConsumingEnumerable(_abort.Token))
                {
                    foreach (var probe in finalized)
                    {
                        probe.Id = Interlocked.Increment(ref _published);
                        foreach (var view in _views)
                        {
                            view.Add(probe);
                        }
                    }

                    finalized.Clear();
                    _spare.Enqueue(finalized);
                }
            }
            catch (OperationCanceledException) when (_abort.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                Failure = ex;
                _abort.Cancel();
            }
        }
    }

    /// <summary>
    /// One file: its reader (decoded ahead on its own thread into a few chunks), the interfaces it
    /// maps to, and the echo at its head. Interface descriptions travel with the chunks, so the
    /// merge thread never reads the reader's list while the decoder grows it.
    /// </summary>
    private sealed class Source(AnalyzeInput input, CaptureFileReader reader, InterfaceCatalog catalog) : IDisposable
    {
        private const int ChunkEchoes = 4096;
        private const int ChunksAhead = 4;

        private readonly BlockingCollection<Chunk> _full = new(ChunksAhead);
        private readonly ConcurrentQueue<Chunk> _spare = new();
        private CancellationToken _token;
        private Task _decoder = Task.CompletedTask;
        private Exception? _failure;
        private Chunk? _chunk;
        private int _next;
        private CaptureFileInterface[] _described = [];
        private int _describedBeforeFirst;
        private int[] _ifaceIds = [];
        private Observation _head;
        private long _echoes;

        public CaptureFileReader Reader => reader;

        public ref readonly Observation Head => ref _head;

        public uint WireLength { get; private set; }

        public ushort Vlan { get; private set; }

        public void Start(CancellationToken token)
        {
            _token = token;
            _decoder = Task.Factory.StartNew(Decode, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public bool MoveNext()
        {
            while (_chunk is null || _next >= _chunk.Count)
            {
                if (_chunk is not null)
                {
                    _spare.Enqueue(_chunk);
                    _chunk = null;
                }

                if (!_full.TryTake(out var chunk, Timeout.Infinite, _token))
                {
                    if (_failure is not null)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_failure);
                    }

                    return false;
                }

                _chunk = chunk;
                _next = 0;
                _described = chunk.Described ?? _described;
            }

            ref readonly var echo = ref _chunk.Echoes[_next++];
            _echoes++;
            // Stamped imported, as the correlator stamps what `analyze --load` sends it.
            _head = echo.ToObservation(IfaceId(echo.FileInterface)) with { Imported = true };
            WireLength = echo.Echo.WireLength;
            Vlan = echo.Echo.Vlan;
            return true;
        }

        public AnalyzedFile Describe()
        {
            var file = new AnalyzedFile
            {
                Path = input.Path,
                Node = input.Node,
                Role = input.Role.ToProto(),
                Records = (ulong)reader.Records,
                Echoes = (ulong)_echoes,
                NotEcho = (ulong)reader.NotEcho,
                CutFrames = (ulong)reader.Truncated,
                Malformed = (ulong)reader.Malformed,
                UnsupportedLink = (ulong)reader.UnsupportedLink,
                FileTruncated = reader.FileTruncated,
                Error = reader.Error ?? "",
            };
            foreach (var id in _ifaceIds)
            {
                if (id >= 0 && !file.Interfaces.Contains(catalog.Interface(id).Iface))
                {
                    file.Interfaces.Add(catalog.Interface(id).Iface);
                }
            }

            return file;
        }

        public void Dispose()
        {
            _decoder.Wait(TimeSpan.FromSeconds(10));
            reader.Dispose();
            _full.Dispose();
        }

        /// <summary>Registers the interfaces the file described before its first echo (all of them when it has none).</summary>
        public void RegisterDescribed()
        {
            for (var k = 0; k < Math.Min(Volatile.Read(ref _describedBeforeFirst), _described.Length); k++)
            {
                IfaceId(k);
            }
        }

        private void Decode()
        {
            try
            {
                var described = 0;
                var chunk = Rent();
                var first = true;
                while (reader.TryReadNext(out chunk.Echoes[chunk.Count]))
                {
                    if (first)
                    {
                        first = false;
                        Volatile.Write(ref _describedBeforeFirst, reader.Interfaces.Count);
                    }

                    if (++chunk.Count == ChunkEchoes)
                    {
                        Seal(chunk, ref described);
                        _full.Add(chunk, _token);
                        chunk = Rent();
                    }
                }

                if (first)
                {
                    Volatile.Write(ref _describedBeforeFirst, reader.Interfaces.Count);
                }

                Seal(chunk, ref described);
                _full.Add(chunk, _token);
            }
            catch (OperationCanceledException) when (_token.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                _failure = ex;
            }
            finally
            {
                _full.CompleteAdding();
            }
        }

        private void Seal(Chunk chunk, ref int described)
        {
            // Taken after the chunk's last echo: it names every interface the chunk's echoes use.
            chunk.Described = reader.Interfaces.Count != described ? [.. reader.Interfaces] : null;
            described = reader.Interfaces.Count;
        }

        private Chunk Rent()
        {
            if (_spare.TryDequeue(out var chunk))
            {
                chunk.Count = 0;
                chunk.Described = null;
                return chunk;
            }

            return new Chunk();
        }

        private int IfaceId(int fileInterface)
        {
            if ((uint)fileInterface < (uint)_ifaceIds.Length && _ifaceIds[fileInterface] >= 0)
            {
                return _ifaceIds[fileInterface];
            }

            if (fileInterface >= _ifaceIds.Length)
            {
                var grown = new int[Math.Max(fileInterface + 1, _described.Length)];
                Array.Fill(grown, -1);
                _ifaceIds.CopyTo(grown, 0);
                _ifaceIds = grown;
            }

            var id = catalog.Register(input.Node, Name(fileInterface), input.Point, input.Role).Id;
            _ifaceIds[fileInterface] = id;
            return id;
        }

        /// <summary>The spec's interface, else the pcapng name, else the file name (with the index when a file has several).</summary>
        private string Name(int fileInterface)
        {
            if (input.Iface is { } named)
            {
                return named;
            }

            if (fileInterface < _described.Length && _described[fileInterface].Name is { } fromFile)
            {
                return fromFile;
            }

            var stem = System.IO.Path.GetFileNameWithoutExtension(input.Path);
            return _described.Length > 1 ? $"{stem}#{fileInterface}" : stem;
        }

        private sealed class Chunk
        {
            public readonly CapturedEcho[] Echoes = new CapturedEcho[ChunkEchoes];

            public int Count;

            /// <summary>The file's interfaces when they changed with this chunk, else null.</summary>
            public CaptureFileInterface[]? Described;
        }
    }
}
