using System.Reflection;
using HopCapture.Hosting.CommandLine;

namespace HopCapture.Tests.Hosting;

public class HostCommandLineTests
{
    private static readonly HostFlag Name = new("--name", "NAME", "Test:Name", "the name");
    private static readonly HostFlag Port = new("--port", "PORT", "Test:Listen:Port", "the port");
    private static readonly HostFlag Item = new("--item", "ITEM", "Test:Items", "an item", repeatable: true);

    private static HostCommandLine Definition() =>
        new("test-host", "Test", [Name, Port, Item], typeof(HostCommandLineTests).Assembly) { Summary = "A host for tests." };

    private static HostArguments Parse(params string[] args) => Definition().Parse(args);

    [Test]
    public void Parse_SeparateValue_SetsTheFlagsKey()
    {
        var arguments = Parse("--name", "hv1", "--port", "7400");

        Assert.That(arguments.Settings, Is.EquivalentTo(new Dictionary<string, string?> { ["Test:Name"] = "hv1", ["Test:Listen:Port"] = "7400" }));
    }

    [TestCase("--name=hv1")]
    [TestCase("--name:hv1")]
    public void Parse_InlineValue_SetsTheFlagsKey(string arg)
    {
        var arguments = Parse(arg);

        Assert.That(arguments.Settings["Test:Name"], Is.EqualTo("hv1"));
    }

    [Test]
    public void Parse_InlineValueWithSeparators_KeepsEverythingAfterTheFirstEquals()
    {
        var arguments = Parse("--name=http://10.0.0.1:7400", "--item=eno1=nic:bond0");

        Assert.Multiple(() =>
        {
            Assert.That(arguments.Settings["Test:Name"], Is.EqualTo("http://10.0.0.1:7400"));
            Assert.That(arguments.Values(Item), Is.EqualTo(new[] { "eno1=nic:bond0" }));
        });
    }

    [Test]
    public void Parse_RepeatedFlag_KeepsEveryValueInOrderAndSetsNoKey()
    {
        var arguments = Parse("--item", "a=1", "--name", "x", "--item=b=2", "--item", "c");

        Assert.Multiple(() =>
        {
            Assert.That(arguments.Values(Item), Is.EqualTo(new[] { "a=1", "b=2", "c" }));
            Assert.That(arguments.Settings.Keys, Is.EqualTo(new[] { "Test:Name" }));
        });
    }

    [Test]
    public void Parse_FlagNotGiven_HasNoValues()
    {
        Assert.That(Parse("--name", "x").Values(Item), Is.Empty);
    }

    [Test]
    public void Parse_ScalarFlagTwice_LastWins()
    {
        Assert.That(Parse("--name", "a", "--name=b").Settings["Test:Name"], Is.EqualTo("b"));
    }

    [TestCase("--Test:Engine:Settle=00:00:01")]
    [TestCase("--Test:Engine:Settle", "00:00:01")]
    [TestCase("--test:engine:settle", "00:00:01")]
    public void Parse_ConfigKeyOverride_SetsThatKey(params string[] args)
    {
        var arguments = Parse(args);

        Assert.That(arguments.Settings["Test:Engine:Settle"], Is.EqualTo("00:00:01"));
    }

    [Test]
    public void Parse_LoggingOverride_IsAccepted()
    {
        var arguments = Parse("--Logging:LogLevel:Default=Warning");

        Assert.That(arguments.Settings["Logging:LogLevel:Default"], Is.EqualTo("Warning"));
    }

    [Test]
    public void Parse_OverrideValueStartingWithOneDash_IsTheValue()
    {
        Assert.That(Parse("--Test:Offset", "-5").Settings["Test:Offset"], Is.EqualTo("-5"));
    }

    [Test]
    public void Parse_FlagAndOverrideOfTheSameKey_LastOneWins()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Parse("--name", "flag", "--Test:Name=override").Settings["Test:Name"], Is.EqualTo("override"));
            Assert.That(Parse("--Test:Name=override", "--name", "flag").Settings["Test:Name"], Is.EqualTo("flag"));
        });
    }

    [Test]
    public void Parse_ConfigFile_IsReturnedNotSetAsAKey()
    {
        var arguments = Parse("--config", "/etc/x.json", "--name", "a");

        Assert.Multiple(() =>
        {
            Assert.That(arguments.ConfigFile, Is.EqualTo("/etc/x.json"));
            Assert.That(arguments.Settings.Keys, Is.EqualTo(new[] { "Test:Name" }));
        });
    }

    [TestCase("--Tset:Name=x", "unknown option '--Tset:Name': no section 'Tset' (use Test or Logging)")]
    [TestCase("--Other:Name", "unknown option '--Other:Name': no section 'Other' (use Test or Logging)")]
    [TestCase("--Test:", "--Test: names no key: use --Test:KEY=VALUE")]
    public void Parse_OverrideOutsideTheSection_ThrowsNamingIt(string arg, string expected)
    {
        var ex = Assert.Throws<CommandLineException>(() => Parse(arg, "x"));

        Assert.That(ex!.Message, Is.EqualTo(expected));
    }

    [TestCase("--nosuchflag", "1")]
    [TestCase("--nosuchflag=1")]
    [TestCase("--name", "a", "--nosuchflag")]
    public void Parse_UnknownFlag_ThrowsNamingIt(params string[] args)
    {
        var ex = Assert.Throws<CommandLineException>(() => Parse(args));

        Assert.That(ex!.Message, Is.EqualTo("unknown option '--nosuchflag'"));
    }

    [TestCase("-x")]
    [TestCase("--x-")]
    public void Parse_UnknownShortOrOddFlag_ThrowsNamingIt(string arg)
    {
        var ex = Assert.Throws<CommandLineException>(() => Parse(arg));

        Assert.That(ex!.Message, Is.EqualTo($"unknown option '{arg}'"));
    }

    [TestCase(new[] { "--name" }, "--name needs a value")]
    [TestCase(new[] { "--name", "--port", "1" }, "--name needs a value")]
    [TestCase(new[] { "--item" }, "--item needs a value")]
    [TestCase(new[] { "--config" }, "--config needs a value")]
    [TestCase(new[] { "--Test:Name" }, "--Test:Name needs a value")]
    [TestCase(new[] { "--Test:Name", "--name", "x" }, "--Test:Name needs a value")]
    public void Parse_MissingValue_ThrowsNamingTheFlag(string[] args, string expected)
    {
        var ex = Assert.Throws<CommandLineException>(() => Parse(args));

        Assert.That(ex!.Message, Is.EqualTo(expected));
    }

    [TestCase(new[] { "stray" }, "stray")]
    [TestCase(new[] { "--name", "a", "b" }, "b")]
    [TestCase(new[] { "--item", "a", "b" }, "b")]
    [TestCase(new[] { "@args.rsp" }, "@args.rsp")]
    [TestCase(new[] { "[diagram]", "--name", "a" }, "[diagram]")]
    public void Parse_StrayArgument_ThrowsNamingIt(string[] args, string stray)
    {
        var ex = Assert.Throws<CommandLineException>(() => Parse(args));

        Assert.That(ex!.Message, Is.EqualTo($"unexpected argument '{stray}'"));
    }

    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("-?")]
    public void Parse_HelpAmongErrors_IsHelp(string help)
    {
        var arguments = Parse("--nosuchflag", help, "--name");

        Assert.That(arguments.Help, Is.True);
    }

    [Test]
    public void TryParse_UnknownFlag_OneErrorLineAndExitCodeTwo()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var ok = Definition().TryParse(["--nosuchflag", "1"], stdout, stderr, out var arguments, out var exitCode);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.False);
            Assert.That(arguments, Is.Null);
            Assert.That(exitCode, Is.EqualTo(HostCommandLine.ExitUsage).And.EqualTo(2));
            Assert.That(stderr.ToString(), Is.EqualTo("test-host: unknown option '--nosuchflag' (see --help)" + Environment.NewLine));
            Assert.That(stdout.ToString(), Is.Empty);
        });
    }

    [Test]
    public void TryParse_GoodArguments_ReturnsThemAndPrintsNothing()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var ok = Definition().TryParse(["--name", "a"], stdout, stderr, out var arguments, out _);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.True);
            Assert.That(arguments!.Settings["Test:Name"], Is.EqualTo("a"));
            Assert.That(stdout.ToString() + stderr, Is.Empty);
        });
    }

    [Test]
    public void TryParse_Version_PrintsTheInformationalVersionAndExitsZero()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var expected = typeof(HostCommandLineTests).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        var ok = Definition().TryParse(["--version"], stdout, stderr, out _, out var exitCode);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.False);
            Assert.That(exitCode, Is.Zero);
            Assert.That(stdout.ToString().Trim(), Is.EqualTo(expected));
            Assert.That(stderr.ToString(), Is.Empty);
        });
    }

    [Test]
    public void TryParse_Help_ListsEveryFlagWithItsKeyAndExitsZero()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var ok = Definition().TryParse(["--help"], stdout, stderr, out _, out var exitCode);

        var lines = stdout.ToString().Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.False);
            Assert.That(exitCode, Is.Zero);
            Assert.That(lines[0], Does.StartWith("usage: test-host "));
            Assert.That(lines, Has.Some.Contains("A host for tests."));
            foreach (var flag in new[] { Name, Port, Item })
            {
                Assert.That(lines, Has.Some.Contains($"{flag.Name} {flag.ValueName}").And.Contains(flag.Key).And.Contains(flag.Description), flag.Name);
            }

            Assert.That(lines, Has.Some.Contains("--config FILE.json").And.Some.Contains("--Test:KEY").And.Some.Contains("--version"));
        });
    }

    [TestCase("--name")]
    [TestCase("--config")]
    [TestCase("--help")]
    public void Constructor_FlagDeclaredTwiceOrBuiltIn_Throws(string name)
    {
        var clash = new HostFlag(name, "X", "Test:X", "clash");

        Assert.Throws<ArgumentException>(() => _ = new HostCommandLine("test-host", "Test", [Name, clash], typeof(HostCommandLineTests).Assembly));
    }

    [TestCase("node")]
    [TestCase("--Agent:Node")]
    [TestCase("--node=x")]
    public void HostFlag_NameNotAPlainLongFlag_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => _ = new HostFlag(name, "X", "Test:X", "bad"));
    }
}
