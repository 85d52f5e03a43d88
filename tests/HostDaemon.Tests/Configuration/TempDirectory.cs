namespace Ivshmem.Daemon.Tests.Configuration;

/// <summary>A fresh directory for one test, removed afterwards (permissions restored first, so a
/// chmod 000 file cannot make the cleanup fail).</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("ivshmemd-test-").FullName;

    public string Path { get; }

    /// <summary>Writes <paramref name="text"/> to a file in this directory and returns its path.</summary>
    public string Write(string fileName, string text)
    {
        string file = System.IO.Path.Combine(Path, fileName);
        File.WriteAllText(file, text);
        return file;
    }

    public void Dispose()
    {
        try
        {
            foreach (string file in Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories))
                if (!OperatingSystem.IsWindows() && !new FileInfo(file).Attributes.HasFlag(FileAttributes.ReparsePoint))
                    File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Leaving a temp directory behind must not fail a test that passed.
        }
    }
}
