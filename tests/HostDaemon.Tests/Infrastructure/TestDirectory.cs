namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>A fresh directory under /tmp with a short name (socket paths must fit in 107 bytes),
/// removed afterwards.</summary>
internal sealed class TestDirectory : IDisposable
{
    public TestDirectory() => Path = Directory.CreateTempSubdirectory("ivd-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* a leftover temp directory must not fail a test that passed */ }
    }
}
