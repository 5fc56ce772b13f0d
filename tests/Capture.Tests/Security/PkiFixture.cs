namespace HopCapture.Tests.Security;

/// <summary>A fresh <see cref="TestPki"/> (CA, server certificate) per test, deleted after it.</summary>
public abstract class PkiFixture
{
    protected TestPki Pki { get; private set; } = null!;

    [SetUp]
    public async Task CreatePkiAsync() => Pki = await TestPki.CreateAsync();

    [TearDown]
    public void DeletePki() => Pki.Dispose();
}
