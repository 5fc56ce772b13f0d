using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HopCapture.Security;

/// <summary>A PEM file could not be used; the message is one line naming the setting and the file.</summary>
public sealed class PemFileException : Exception
{
    public PemFileException()
    {
    }

    public PemFileException(string message)
        : base(message)
    {
    }

    public PemFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PemFileException(string setting, string path, string problem, Exception? innerException = null)
        : base(string.IsNullOrEmpty(path) ? $"{setting}: {problem}" : $"{setting}: {problem} ('{path}')", innerException)
    {
        Setting = setting;
    }

    /// <summary>The configuration key or flag that named the file, e.g. <c>Agent:Tls:Key</c>.</summary>
    public string Setting { get; } = "";
}

/// <summary>Loads PEM certificates and keys with errors that say which setting and file failed.</summary>
public static class PemFiles
{
    /// <summary>A certificate with its private key, from two PEM files (or one holding both).</summary>
    /// <exception cref="PemFileException">A file is missing, unreadable, or not a matching PEM certificate/key.</exception>
    public static X509Certificate2 LoadCertificate(string certificateSetting, string certificatePath, string keySetting, string keyPath)
    {
        var certificateText = Read(certificateSetting, certificatePath);
        var keyText = Read(keySetting, keyPath);
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(certificateText);
            return WithKey(certificate, keyText, keySetting, keyPath);
        }
        catch (CryptographicException ex)
        {
            throw new PemFileException(certificateSetting, certificatePath, "not a PEM certificate (-----BEGIN CERTIFICATE-----): " + OneLine(ex), ex);
        }
    }

    /// <summary>Every certificate in a PEM bundle (a CA rotation keeps the old and the new CA in one file).</summary>
    /// <exception cref="PemFileException">The file is missing, unreadable or holds no certificate.</exception>
    public static X509Certificate2Collection LoadBundle(string setting, string path)
    {
        var text = Read(setting, path);
        var bundle = new X509Certificate2Collection();
        try
        {
            bundle.ImportFromPem(text);
        }
        catch (CryptographicException ex)
        {
            throw new PemFileException(setting, path, "not a PEM certificate bundle: " + OneLine(ex), ex);
        }

        if (bundle.Count == 0)
        {
            throw new PemFileException(setting, path, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        return bundle;
    }

    private static X509Certificate2 WithKey(X509Certificate2 certificate, string keyText, string keySetting, string keyPath)
    {
        try
        {
            switch (certificate.GetKeyAlgorithm())
            {
                case "1.2.840.10045.2.1":
                    using (var ecdsa = ECDsa.Create())
                    {
                        ecdsa.ImportFromPem(keyText);
                        return certificate.CopyWithPrivateKey(ecdsa);
                    }

                default:
                    using (var rsa = RSA.Create())
                    {
                        rsa.ImportFromPem(keyText);
                        return certificate.CopyWithPrivateKey(rsa);
                    }
            }
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new PemFileException(keySetting, keyPath, "not the PEM private key of the certificate: " + OneLine(ex), ex);
        }
    }

    private static string Read(string setting, string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new PemFileException(setting, path, "no file named");
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException ex)
        {
            throw new PemFileException(setting, path, "file does not exist", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new PemFileException(setting, path, "file does not exist", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new PemFileException(setting, path, "cannot read the file: permission denied", ex);
        }
        catch (IOException ex)
        {
            throw new PemFileException(setting, path, "cannot read the file: " + OneLine(ex), ex);
        }
    }

    private static string OneLine(Exception ex) => ex.Message.ReplaceLineEndings(" ").Trim().TrimEnd('.');
}
