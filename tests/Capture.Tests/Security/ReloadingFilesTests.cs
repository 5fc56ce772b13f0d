using System.Security.Authentication;
using Grpc.Core;
using HopCapture.IngestClient;
using HopCapture.Security;

namespace HopCapture.Tests.Security;

/// <summary>Files that reload on change, and how a TLS failure is classified for retries.</summary>
public sealed class ReloadingFilesTests : PkiFixture
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Current_FileRewrittenThenBroken_ReloadsThenKeepsTheLastGoodOne(CancellationToken cancellationToken)
    {
        var path = Path.Combine(Pki.Root, "bundle.pem");
        File.Copy(Pki.CaCertificate, path);
        var bundle = Reloading.Bundle("Test:Ca", path);
        var first = bundle.Current[0].Thumbprint;

        await TestPki.CaptureAsync("pki", "init", "--dir", Path.Combine(Pki.Root, "ca-2"));
        await File.WriteAllTextAsync(path, await File.ReadAllTextAsync(Pki.CaCertificate, cancellationToken) + await File.ReadAllTextAsync(Path.Combine(Pki.Root, "ca-2", "ca.crt"), cancellationToken), cancellationToken);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(2));
        var grown = bundle.Current.Count;
        var whole = await File.ReadAllTextAsync(path, cancellationToken);
        await File.WriteAllTextAsync(path, whole[..(whole.Length / 3)], cancellationToken); // a rotation caught half-written
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(4));
        var kept = bundle.Current;

        Assert.Multiple(() =>
        {
            Assert.That(grown, Is.EqualTo(2), "the rewritten bundle is read at the next use");
            Assert.That(kept, Has.Count.EqualTo(2), "a broken rewrite keeps the last good bundle");
            Assert.That(kept[0].Thumbprint, Is.EqualTo(first));
            Assert.That(bundle.LastError, Does.StartWith("Test:Ca: holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
            Assert.That(bundle.Reloads, Is.EqualTo(1));
        });
    }

    [Test]
    public void Classify_TlsRefusalIsNotRetried_ConnectionCutMidHandshakeIs()
    {
        var refused = new RpcException(new Status(StatusCode.Internal, "Error starting gRPC call",
            new HttpRequestException("The SSL connection could not be established", new AuthenticationException("the correlator's certificate CN=x is not issued by a CA in Agent:Tls:Ca"))));
        var cut = new RpcException(new Status(StatusCode.Unavailable, "Error starting gRPC call",
            new HttpRequestException("The SSL connection could not be established", new AuthenticationException("Authentication failed", new IOException("reset")))));

        Assert.Multiple(() =>
        {
            Assert.That(IngestRetry.Classify(refused, CancellationToken.None), Is.EqualTo(IngestFailureKind.Refused));
            Assert.That(IngestRetry.Describe(refused), Is.EqualTo("TLS handshake with the correlator failed: the correlator's certificate CN=x is not issued by a CA in Agent:Tls:Ca"));
            Assert.That(IngestRetry.Classify(cut, CancellationToken.None), Is.EqualTo(IngestFailureKind.Transient));
        });
    }
}
