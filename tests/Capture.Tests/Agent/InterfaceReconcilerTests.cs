using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Discovery;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HopCapture.Tests.Agent;

/// <summary>
/// The capture service as a reconciler (issue 10): what the source wants against what exists,
/// with a fake source, a fake kernel and fake captures.
/// </summary>
public class InterfaceReconcilerTests
{
    // NUnit shares one fixture instance between tests: everything is made fresh in SetUp.
    private FakeTimeProvider _time = null!;
    private FakeLinks _links = null!;
    private List<FakeCapture> _opened = null!;
    private FakeSource _source = null!;
    private AgentInterfaces _table = null!;
    private CaptureService _service = null!;
    private string? _openError;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        _links = [];
        _opened = [];
        _openError = null;
        var options = new AgentOptions
        {
            Node = "hv1",
            Interfaces = [new InterfaceOptions { Name = "eno1", Role = "nic" }, new InterfaceOptions { Name = "tap300i0", Role = "vif" }],
        };
        _source = new FakeSource(StaticInterfaceSource.ToDiscovered(options.Interfaces));
        _table = new AgentInterfaces(options.Interfaces);
        _service = new CaptureService(Options.Create(options), _table, new ObservationQueue(16), _source, _links, _time, NullLogger<CaptureService>.Instance, Open);
    }

    [TearDown]
    public void TearDown() => _service.Dispose();

    [Test]
    public async Task Start_ConfiguredInterfaceMissing_WaitsInsteadOfFailing()
    {
        _links["eno1"] = 2;

        await _service.StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(States(), Is.EqualTo(new[] { ("eno1", InterfaceState.Capturing), ("tap300i0", InterfaceState.Waiting) }));
            Assert.That(_opened.Select(c => c.Name), Is.EqualTo(new[] { "eno1" }));
        });
    }

    [Test]
    public void Reconcile_TapAppearsVanishesAndReturns_CapturingGoneCapturingOnItsOldIndex()
    {
        _links["eno1"] = 2;
        _service.Reconcile();

        _links["tap300i0"] = 7;
        _service.Reconcile();
        var appeared = States();
        var tapIndex = _table.All.Single(i => i.Name == "tap300i0").Index;

        _links.Remove("tap300i0");
        _service.Reconcile();
        var vanished = States();
        var detail = _table.All[tapIndex].StateDetail;

        _links["tap300i0"] = 9;
        _service.Reconcile();

        Assert.Multiple(() =>
        {
            Assert.That(appeared, Is.EqualTo(new[] { ("eno1", InterfaceState.Capturing), ("tap300i0", InterfaceState.Capturing) }));
            Assert.That(vanished, Is.EqualTo(new[] { ("eno1", InterfaceState.Capturing), ("tap300i0", InterfaceState.Gone) }));
            Assert.That(detail, Is.EqualTo("vanished at 2026-11-30 12:00:00Z; waiting for it to return"));
            Assert.That(States(), Is.EqualTo(new[] { ("eno1", InterfaceState.Capturing), ("tap300i0", InterfaceState.Capturing) }));
            Assert.That(_table.All, Has.Count.EqualTo(2), "a returning name keeps its index");
            Assert.That(_opened.Where(c => c.Name == "tap300i0").Select(c => (c.IfIndex, c.Disposed)), Is.EqualTo(new[] { (7, true), (9, false) }));
        });
    }

    [Test]
    public void Reconcile_TapRecreatedBetweenPolls_ReopensOnTheNewIfIndex()
    {
        _links["tap300i0"] = 7;
        _service.Reconcile();

        _links["tap300i0"] = 8;
        _service.Reconcile();

        Assert.Multiple(() =>
        {
            Assert.That(_opened.Select(c => (c.IfIndex, c.Disposed)), Is.EqualTo(new[] { (7, true), (8, false) }));
            Assert.That(_table.All[1].State, Is.EqualTo(InterfaceState.Capturing));
            Assert.That(_table.All[1].IfIndex, Is.EqualTo(8));
        });
    }

    [Test]
    public void Reconcile_OpenFails_ErrorWithDetailThenRetriedAfterTheBackoff()
    {
        _links["tap300i0"] = 7;
        _openError = "cannot capture on tap300i0: boom";
        _service.Reconcile();
        var failed = (_table.All[1].State, _table.All[1].StateDetail);

        _openError = null;
        _service.Reconcile();
        var soon = _table.All[1].State;
        _time.Advance(CaptureService.RetryAfterError);
        _service.Reconcile();

        Assert.Multiple(() =>
        {
            Assert.That(failed, Is.EqualTo((InterfaceState.Error, "cannot capture on tap300i0: boom")));
            Assert.That(soon, Is.EqualTo(InterfaceState.Error), "not retried within the backoff");
            Assert.That(_table.All[1].State, Is.EqualTo(InterfaceState.Capturing));
        });
    }

    [Test]
    public void Start_NoPermissionToCapture_StaysFatal()
    {
        _links["eno1"] = 2;
        _openError = "permission";

        var ex = Assert.ThrowsAsync<AgentStartupException>(() => _service.StartAsync(CancellationToken.None));

        Assert.That(ex!.Message, Is.EqualTo("no permission to capture on eno1"));
    }

    [Test]
    public void Reconcile_SourceAddsAnInterface_AppendsItWithItsVmAndBumpsTheVersion()
    {
        _links["tap100i0"] = 5;
        var version = _table.Version;
        _source.Interfaces = [.. _source.Interfaces, new DiscoveredInterface("tap100i0", PointRole.Vif, "tap100i0", "proxmox", "100", "web01", 0, "bc:24:11:00:00:01")];

        _service.Reconcile();

        var info = _table.ToInfos().Last();
        Assert.Multiple(() =>
        {
            Assert.That(_table.All[2].Name, Is.EqualTo("tap100i0"));
            Assert.That(_table.Version, Is.GreaterThan(version));
            Assert.That((info.Source, info.VmId, info.VmName, info.VmNic, info.VmMac, info.State),
                Is.EqualTo(("proxmox", "100", "web01", 0, "bc:24:11:00:00:01", "capturing")));
        });
    }

    [Test]
    public void Reconcile_SourceDropsACapturedInterface_StopsItAndMarksItGone()
    {
        _links["tap300i0"] = 7;
        _service.Reconcile();

        _source.Interfaces = [.. _source.Interfaces.Where(i => i.Name != "tap300i0")];
        _service.Reconcile();

        Assert.Multiple(() =>
        {
            Assert.That((_table.All[1].State, _table.All[1].StateDetail), Is.EqualTo((InterfaceState.Gone, "no longer discovered")));
            Assert.That(_opened.Single().Disposed, Is.True);
        });
    }

    [Test]
    public void AgentInterfaces_SameNameAgain_KeepsItsIndexAndVersionUnlessSomethingChanged()
    {
        var table = new AgentInterfaces([new InterfaceOptions { Name = "eth0", Role = "guest" }], withApp: true);
        var eth0 = table.All[0];
        var start = table.Version;

        var again = table.GetOrAdd(eth0.Discovered);
        var unchanged = table.Version;
        var tap = table.GetOrAdd(new DiscoveredInterface("tap100i0", PointRole.Vif, "tap100i0", "proxmox", VmId: "100"));
        var renamedVm = table.GetOrAdd(tap.Discovered with { VmName = "web01" });
        var stateChanged = table.SetState(tap, InterfaceState.Capturing);
        var stateSame = table.SetState(tap, InterfaceState.Capturing);

        Assert.Multiple(() =>
        {
            Assert.That(again, Is.SameAs(eth0));
            Assert.That(unchanged, Is.EqualTo(start));
            Assert.That(table.All.Select(i => (i.Index, i.Name)), Is.EqualTo(new[] { (0, "eth0"), (1, AgentInterfaces.AppName), (2, "tap100i0") }));
            Assert.That(renamedVm, Is.SameAs(tap));
            Assert.That(tap.Discovered.VmName, Is.EqualTo("web01"));
            Assert.That((stateChanged, stateSame), Is.EqualTo((true, false)));
            Assert.That(table.Version, Is.EqualTo(start + 3));
            Assert.That(table.Snapshot().Select(s => s.State), Is.EqualTo(new[] { "waiting", "capturing", "capturing" }));
        });
    }

    [Test]
    public void KernelLinks_IfIndex_LoopbackFoundMissingZeroAndCheap()
    {
        var links = KernelLinks.Instance;
        const int Calls = 10_000;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < Calls; i++)
        {
            links.IfIndex("tap999i9");
        }

        var perCallUs = watch.Elapsed.TotalMicroseconds / Calls;
        TestContext.Out.WriteLine($"if_nametoindex: {perCallUs:0.0} µs per name");
        Assert.Multiple(() =>
        {
            Assert.That(links.IfIndex("lo"), Is.GreaterThan(0));
            Assert.That(links.IfIndex("tap999i9"), Is.Zero);
            Assert.That(perCallUs, Is.LessThan(1000), "a poll of a few dozen names must stay far below its one-second period");
        });
    }

    private (string, InterfaceState)[] States() => [.. _table.All.Select(i => (i.Name, i.State))];

    private FakeCapture Open(AgentInterface iface, int ifIndex)
    {
        if (_openError is { } error)
        {
            throw new CaptureOpenException(error == "permission" ? $"no permission to capture on {iface.Name}" : error, permission: error == "permission");
        }

        var capture = new FakeCapture(iface.Name, ifIndex);
        _opened.Add(capture);
        return capture;
    }

    private sealed class FakeSource(IReadOnlyList<DiscoveredInterface> interfaces) : IInterfaceSource
    {
        public IReadOnlyList<DiscoveredInterface> Interfaces { get; set; } = interfaces;

        public DiscoveryResult Current() => new("config", Interfaces, []);
    }

    private sealed class FakeLinks : Dictionary<string, int>, INetworkLinks
    {
        public int IfIndex(string name) => TryGetValue(name, out var index) ? index : 0;
    }

    private sealed class FakeCapture(string name, int ifIndex) : ILiveCapture
    {
        public string Name { get; } = name;

        public int IfIndex { get; } = ifIndex;

        public bool Failed => false;

        public bool Disposed { get; private set; }

        public void RefreshStatistics()
        {
        }

        public void Dispose() => Disposed = true;
    }
}
