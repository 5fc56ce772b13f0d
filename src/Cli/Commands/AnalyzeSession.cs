using System.Diagnostics;
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
/// Streams: each file is read through one buffer, the engine holds the in-flight window, the
/// views keep what they show.
/// </summary>
public sealed class AnalyzeSession : IDisposable
{
    /// <summary>How often (in capture time) the engine is asked to finalise, as the correlator's engine host does.</summary>
    public static readonly long AdvanceEveryNs = 100_000_000;

    private readonly List<Source> _sources = [];
    private readonly List<ProbeResult> _finalized = [];
    private readonly IReadOnlyList<IAnalyzeView> _views;
    private long _nextId;

    public AnalyzeSession(IReadOnlyList<AnalyzeInput> inputs, EngineOptions options, IReadOnlyList<IAnalyzeView> views)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(views);
        Catalog = new InterfaceCatalog();
        Engine = new CorrelationEngine(options, Catalog);
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

    public CorrelationEngine Engine { get; }

    public long Observations { get; private set; }

    public long Probes => _nextId;

    /// <summary>Runs to the end of every file and returns the report the views filled in.</summary>
    public AnalyzeReport Run(IObservationSink? sink = null, Action<AnalyzeProgress>? progress = null, CancellationToken cancellationToken = default)
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

        var nextAdvance = long.MinValue;
        var progressClock = Stopwatch.StartNew();
        var lastTs = 0L;
        while (heads.TryDequeue(out var index, out var ts))
        {
            var source = _sources[index];
            ref readonly var observation = ref source.Head;
            Engine.Add(observation, ts);
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
            if (ts >= nextAdvance)
            {
                Engine.Advance(ts, _finalized);
                Publish();
                nextAdvance = ts + AdvanceEveryNs;
            }

            if (source.MoveNext())
            {
                heads.Enqueue(index, source.Head.TimestampNs);
            }

            if ((Observations & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (progress is not null && progressClock.ElapsedMilliseconds >= 500)
                {
                    progress(Progress());
                    progressClock.Restart();
                }
            }
        }

        Engine.Advance(lastTs, _finalized);
        Engine.Flush(_finalized);
        Publish();
        progress?.Invoke(Progress());

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

    public void Dispose()
    {
        foreach (var source in _sources)
        {
            source.Dispose();
        }
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
        foreach (var result in _finalized)
        {
            var record = result.ToRecord(Catalog, imported: true);
            record.Id = ++_nextId;
            foreach (var view in _views)
            {
                view.Add(record);
            }
        }

        _finalized.Clear();
    }

    private AnalyzeProgress Progress()
    {
        long read = 0, total = 0;
        foreach (var source in _sources)
        {
            read += source.Reader.Position;
            total += source.Reader.Length;
        }

        return new AnalyzeProgress(read, total, Observations, _nextId);
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

    /// <summary>One file: its reader, the interfaces it maps to, and the echo at its head.</summary>
    private sealed class Source(AnalyzeInput input, CaptureFileReader reader, InterfaceCatalog catalog) : IDisposable
    {
        private int[] _ifaceIds = [];
        private Observation _head;
        private long _echoes;

        public CaptureFileReader Reader => reader;

        public ref readonly Observation Head => ref _head;

        public uint WireLength { get; private set; }

        public ushort Vlan { get; private set; }

        public bool MoveNext()
        {
            if (!reader.TryReadNext(out var echo))
            {
                return false;
            }

            _echoes++;
            _head = echo.ToObservation(IfaceId(echo.FileInterface));
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

        public void Dispose() => reader.Dispose();

        public void RegisterDescribed()
        {
            for (var k = 0; k < reader.Interfaces.Count; k++)
            {
                IfaceId(k);
            }
        }

        private int IfaceId(int fileInterface)
        {
            if ((uint)fileInterface < (uint)_ifaceIds.Length && _ifaceIds[fileInterface] >= 0)
            {
                return _ifaceIds[fileInterface];
            }

            if (fileInterface >= _ifaceIds.Length)
            {
                var grown = new int[Math.Max(fileInterface + 1, reader.Interfaces.Count)];
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

            if (fileInterface < reader.Interfaces.Count && reader.Interfaces[fileInterface].Name is { } fromFile)
            {
                return fromFile;
            }

            var stem = System.IO.Path.GetFileNameWithoutExtension(input.Path);
            return reader.Interfaces.Count > 1 ? $"{stem}#{fileInterface}" : stem;
        }
    }
}
