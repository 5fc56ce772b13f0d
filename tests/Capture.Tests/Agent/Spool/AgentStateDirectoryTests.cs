using HopCapture.Agent.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace HopCapture.Tests.Agent.Spool;

public class AgentStateDirectoryTests
{
    private string _directory = "";

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "hopcapture-state-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public void Open_Twice_KeepsTheIdentity()
    {
        string first;
        using (var state = AgentStateDirectory.Open(_directory, NullLogger.Instance))
        {
            first = state.InstanceId;
        }

        using var again = AgentStateDirectory.Open(_directory, NullLogger.Instance);
        Assert.Multiple(() =>
        {
            Assert.That(Guid.TryParse(first, out _), Is.True);
            Assert.That(again.InstanceId, Is.EqualTo(first));
            Assert.That(File.ReadAllText(Path.Combine(_directory, AgentStateDirectory.IdentityFileName)).Trim(), Is.EqualTo(first));
            Assert.That(File.Exists(Path.Combine(_directory, AgentStateDirectory.IdentityFileName + ".tmp")), Is.False);
        });
    }

    [Test]
    public void Open_CorruptIdentityFile_ReplacesItWithANewIdentity()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, AgentStateDirectory.IdentityFileName), "\0\0garbage");
        using var state = AgentStateDirectory.Open(_directory, NullLogger.Instance);
        Assert.Multiple(() =>
        {
            Assert.That(Guid.TryParse(state.InstanceId, out _), Is.True);
            Assert.That(File.ReadAllText(Path.Combine(_directory, AgentStateDirectory.IdentityFileName)).Trim(), Is.EqualTo(state.InstanceId));
        });
    }

    [Test]
    public void Open_HeldByAnotherAgent_OneClearErrorNamingTheDirectory()
    {
        using var held = AgentStateDirectory.Open(_directory, NullLogger.Instance);
        var ex = Assert.Throws<AgentStateException>(() => AgentStateDirectory.Open(_directory, NullLogger.Instance));
        Assert.That(ex!.Message, Does.StartWith($"Agent:StateDirectory: '{_directory}' is in use by another agent process"));
    }
}
